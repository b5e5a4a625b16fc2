// The one place @peculiar/x509 is loaded: it needs the reflect polyfill first and a
// WebCrypto provider, on every runtime.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(globalThis.crypto);

export { x509 };
