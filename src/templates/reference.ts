// How a template is addressed: `NAMESPACE/NAME[@VERSION]` — the namespace is the template
// repository (CDS calls it the group), as in `from: shared.infra/example-simple@1`.

export interface TemplateReference {
	repo: string;
	name: string;
	/** A stored version number; absent means the latest. */
	version?: number;
}

/** Letters, digits, ".", "_" and "-", but not only dots (never a path step). */
export const REPO_NAME_PATTERN = /^(?!\.+$)[a-zA-Z0-9._-]{1,64}$/;
const REFERENCE = /^([a-zA-Z0-9._-]{1,64})\/([a-zA-Z0-9._-]{1,128})(?:@([1-9][0-9]{0,8}))?$/;

export function parseTemplateReference(text: string): TemplateReference {
	const match = REFERENCE.exec(text.trim());
	if (!match || /^\.+$/.test(match[1]!) || /^\.+$/.test(match[2]!))
		throw new Error(
			`"${text}" is not a template reference: expected NAMESPACE/NAME or NAMESPACE/NAME@VERSION`,
		);
	return { repo: match[1]!, name: match[2]!, ...(match[3] ? { version: Number(match[3]) } : {}) };
}
