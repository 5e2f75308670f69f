import { createPrivateKey, generateKeyPair, type KeyObject, randomBytes, sign } from "node:crypto";
import { promisify } from "node:util";
import forge from "node-forge";

/**
 * A throw-away certificate authority for signing emulated Partner Center webhook events, made in
 * memory when the sandbox starts (never written to the repository). Partner Center signs events with
 * a certificate whose subject's Organization is Microsoft Corporation and whose chain ends in a
 * public root; the sandbox mirrors that shape with a test root → intermediate → leaf chain that a
 * receiver trusts only when told to (core's `trustedRootCertificates`).
 */

/** A certificate and the private key that signs with it. */
export interface TestCertificate {
  /** The certificate, PEM. */
  certPem: string;
  /** Its private key (PKCS#8 PEM). */
  keyPem: string;
}

/** What {@link issueTestCertificate} writes into a certificate. */
export interface TestCertificateOptions {
  commonName: string;
  /** The subject's O; omitted when `undefined`. */
  organization?: string;
  /** Issue a CA certificate (basicConstraints cA, keyCertSign). */
  ca?: boolean;
  notBefore: Date;
  notAfter: Date;
  /** The issuer; a self-signed certificate when absent. */
  issuer?: TestCertificate;
  /** The key to certify (PKCS#8 PEM), e.g. from {@link newRsaKeyPem}. */
  keyPem: string;
}

const generateRsa = promisify(generateKeyPair);

/** A new RSA-2048 key, PKCS#8 PEM, made off the main thread (key generation takes a few hundred ms). */
export async function newRsaKeyPem(): Promise<string> {
  const { privateKey } = await generateRsa("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  return privateKey;
}

/** node-forge reads PKCS#1 keys; node:crypto converts. */
function forgeKey(keyPem: string): forge.pki.rsa.PrivateKey {
  const pkcs1 = createPrivateKey(keyPem).export({ type: "pkcs1", format: "pem" }).toString();
  return forge.pki.privateKeyFromPem(pkcs1) as forge.pki.rsa.PrivateKey;
}

function attributes(commonName: string, organization: string | undefined): forge.pki.CertificateField[] {
  return [
    ...(organization === undefined ? [] : [{ shortName: "O", value: organization }]),
    { shortName: "CN", value: commonName },
  ];
}

/**
 * Signs like forge's `cert.sign(key, sha256)`, but with node:crypto: forge's pure-JavaScript RSA
 * takes a third of a second per signature, node's native one a millisecond.
 */
function signWithNodeCrypto(cert: forge.pki.Certificate, issuerKeyPem: string): void {
  const oid = forge.pki.oids.sha256WithRSAEncryption as string;
  cert.siginfo.algorithmOid = oid;
  cert.signatureOid = oid;
  // getTBSCertificate is part of forge's API but missing from its type declarations.
  const pki = forge.pki as unknown as { getTBSCertificate(c: forge.pki.Certificate): forge.asn1.Asn1 };
  const tbs = pki.getTBSCertificate(cert);
  (cert as unknown as { tbsCertificate: forge.asn1.Asn1 }).tbsCertificate = tbs;
  const der = Buffer.from(forge.asn1.toDer(tbs).getBytes(), "binary");
  cert.signature = sign("sha256", der, issuerKeyPem).toString("binary");
}

/** Issues one RSA/SHA-256 X.509 certificate for `options.keyPem`. */
export function issueTestCertificate(options: TestCertificateOptions): TestCertificate {
  const keyPem = options.keyPem;
  const key = forgeKey(keyPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  // A positive serial (first byte < 0x80), random so that re-issued certificates differ.
  cert.serialNumber = `01${randomBytes(15).toString("hex")}`;
  cert.validity.notBefore = options.notBefore;
  cert.validity.notAfter = options.notAfter;
  const subject = attributes(options.commonName, options.organization);
  cert.setSubject(subject);
  const issuerCert = options.issuer ? forge.pki.certificateFromPem(options.issuer.certPem) : undefined;
  cert.setIssuer(issuerCert ? issuerCert.subject.attributes : subject);
  cert.setExtensions(
    options.ca
      ? [
          { name: "basicConstraints", cA: true, critical: true },
          { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
          { name: "subjectKeyIdentifier" },
        ]
      : [
          { name: "basicConstraints", cA: false, critical: true },
          { name: "keyUsage", digitalSignature: true, critical: true },
          { name: "subjectKeyIdentifier" },
        ],
  );
  signWithNodeCrypto(cert, options.issuer?.keyPem ?? keyPem);
  return { certPem: forge.pki.certificateToPem(cert), keyPem };
}

/** The emulator's signing chain: a test root, an intermediate and the signing (leaf) certificate. */
export interface WebhookSigningChain {
  root: TestCertificate;
  intermediate: TestCertificate;
  /** Subject `CN=pcnotifications-dispatch.microsoft.com, O=Microsoft Corporation`. */
  leaf: TestCertificate;
}

/** The leaf's Common Name, as in the certificate URL of Microsoft's documented example. */
export const WEBHOOK_SIGNING_COMMON_NAME = "pcnotifications-dispatch.microsoft.com";

/**
 * Makes a fresh signing chain valid from a day before `now` for `days` days. The leaf's subject
 * carries `O=Microsoft Corporation`, as Partner Center's does; the root is a test root no receiver
 * trusts unless configured to.
 */
export async function createWebhookSigningChain(now: Date, days = 3650): Promise<WebhookSigningChain> {
  const [rootKey, intermediateKey, leafKey] = await Promise.all([
    newRsaKeyPem(),
    newRsaKeyPem(),
    newRsaKeyPem(),
  ]);
  const notBefore = new Date(now.getTime() - 86_400_000);
  const notAfter = new Date(now.getTime() + days * 86_400_000);
  const root = issueTestCertificate({
    commonName: "cosell sandbox test root (not trusted anywhere)",
    organization: "cosell sandbox",
    ca: true,
    notBefore,
    notAfter,
    keyPem: rootKey,
  });
  const intermediate = issueTestCertificate({
    commonName: "cosell sandbox test issuing CA",
    organization: "cosell sandbox",
    ca: true,
    notBefore,
    notAfter,
    issuer: root,
    keyPem: intermediateKey,
  });
  const leaf = issueTestCertificate({
    commonName: WEBHOOK_SIGNING_COMMON_NAME,
    organization: "Microsoft Corporation",
    notBefore,
    notAfter,
    issuer: intermediate,
    keyPem: leafKey,
  });
  return { root, intermediate, leaf };
}

/** The signing key of a chain's leaf. */
export function signingKeyOf(chain: WebhookSigningChain): KeyObject {
  return createPrivateKey(chain.leaf.keyPem);
}
