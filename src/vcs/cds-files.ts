// Which files of a repository's `.cds/` directory are as-code files: CDS names them
// <name>.yml (workflow), <name>.pip.yml, <name>.app.yml, <name>.env.yml; JSON is accepted
// too. Hidden files and anything else (READMEs, scripts) are left out.

export function isCdsFile(path: string): boolean {
	const name = path.split("/").pop() ?? "";
	return !name.startsWith(".") && /\.(ya?ml|json)$/i.test(name);
}
