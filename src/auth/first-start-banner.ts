// The banner a node prints once, at its first start: the administrator token and the first
// commands to type. The commands are those of the README's "First start" block (a unit test
// holds them together), so a newcomer who follows either gets the same first run.

export function firstStartBanner(token: string, apiUrl: string, ui: boolean): string {
	return [
		"",
		"================================================================================",
		" CDS-TS first start: this administrator token is shown ONCE — keep it safe:",
		"",
		`   ${token}`,
		"",
		' Next, in another shell, from this folder (the README\'s "First start"):',
		`   npx cds login --api-url ${apiUrl} --token ${token}`,
		"   npx cds project create DEMO Demo",
		"   npx cds workflow import DEMO examples/hello",
		"   npx cds workflow run DEMO hello -p git.branch=main --wait",
		...(ui ? ["", ` Or open the web UI at ${apiUrl}/ and sign in with this token.`] : []),
		"================================================================================",
		"",
	].join("\n");
}
