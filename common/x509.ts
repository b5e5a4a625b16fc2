// The one place @peculiar/x509 is loaded, for the controller and the agent alike: it
// needs the reflect polyfill loaded before it and a WebCrypto provider set once.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(globalThis.crypto);

export { x509 };
