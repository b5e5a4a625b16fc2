// Single entry point to @peculiar/x509 for the controller: the library needs the
// reflect polyfill loaded before it and a WebCrypto provider set once.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(globalThis.crypto);

export { x509 };
