// A project's OpenPGP key pair: template secrets are encrypted with its public part (by
// the CLI, so a clear secret never travels) and only the server, holding the private part
// sealed under the master key, decrypts them for a job. ECC curve25519: fast to generate.

import * as openpgp from "openpgp";

export interface PgpKeyPair {
	publicKey: string;
	/** Armored, without passphrase: the caller seals it at rest. */
	privateKey: string;
	fingerprint: string;
}

export class PgpError extends Error {
	override name = "PgpError";
}

export async function generatePgpKeyPair(project: string): Promise<PgpKeyPair> {
	const { publicKey, privateKey } = await openpgp.generateKey({
		type: "ecc",
		curve: "curve25519Legacy",
		userIDs: [{ name: `CDS project ${project}`, email: `${project.toLowerCase()}@cds.invalid` }],
		format: "armored",
	});
	const key = await openpgp.readKey({ armoredKey: publicKey });
	return { publicKey, privateKey, fingerprint: key.getFingerprint() };
}

/** Encrypts `text` for the holder of `armoredPublicKey`; returns an armored PGP message. */
export async function encryptWithPublicKey(armoredPublicKey: string, text: string): Promise<string> {
	let encryptionKeys: openpgp.Key;
	try {
		encryptionKeys = await openpgp.readKey({ armoredKey: armoredPublicKey });
	} catch (e) {
		throw new PgpError(`not an armored OpenPGP public key: ${(e as Error).message}`);
	}
	const message = await openpgp.createMessage({ text });
	return (await openpgp.encrypt({ message, encryptionKeys, format: "armored" })) as string;
}

/** Decrypts an armored message with `armoredPrivateKey`; throws PgpError when it is not for this key. */
export async function decryptWithPrivateKey(
	armoredPrivateKey: string,
	armoredMessage: string,
): Promise<string> {
	try {
		const decryptionKeys = await openpgp.readPrivateKey({ armoredKey: armoredPrivateKey });
		const message = await openpgp.readMessage({ armoredMessage });
		const { data } = await openpgp.decrypt({ message, decryptionKeys, format: "utf8" });
		return data as string;
	} catch (e) {
		throw new PgpError(`cannot decrypt the message with the project key: ${(e as Error).message}`);
	}
}
