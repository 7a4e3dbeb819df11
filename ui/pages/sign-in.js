// Sign-in: the API token is posted once and exchanged for an HttpOnly session cookie; the
// field is cleared at once and the token is kept nowhere in the page.

import { signIn } from "../api.js";
import { h } from "../dom.js";

export function signInPage(done) {
	const input = h("input", {
		id: "token",
		type: "password",
		name: "token",
		autocomplete: "off",
		required: true,
		"aria-describedby": "token-help",
	});
	const error = h("p", { class: "error", role: "alert" });
	const form = h(
		"form",
		{
			class: "card sign-in",
			onsubmit: async (e) => {
				e.preventDefault();
				const token = input.value;
				input.value = "";
				error.textContent = "";
				try {
					await signIn(token);
					done();
				} catch (err) {
					error.textContent = err.status === 401 ? "This token is invalid, revoked or expired." : err.message;
				}
			},
		},
		h("h1", {}, "Sign in"),
		h("label", { for: "token" }, "API token"),
		input,
		h(
			"p",
			{ id: "token-help", class: "muted" },
			"The token npm start printed, or one from `cds token create`. It opens a session cookie; the token itself is not kept.",
		),
		h("button", { type: "submit" }, "Sign in"),
		error,
	);
	return form;
}
