// Validator fragments (fastest-validator) shared by the actions of every service, so that a
// project key or an entity name is checked the same way wherever it arrives.

import { MAX_PAGE } from "../src/api/pagination.ts";
import { NAME_PATTERN, PROJECT_KEY_PATTERN } from "../src/project/variables.ts";

/** A project key (`DEMO`, `MY_PROJECT`). */
export const projectKey = { type: "string", pattern: PROJECT_KEY_PATTERN, max: 64 } as const;

/** The name of a workflow, pipeline, application, environment, manager… */
export const entityName = { type: "string", pattern: NAME_PATTERN, max: 128 } as const;

/** A git branch name. */
export const branchName = { type: "string", min: 1, max: 255 } as const;

/** `?limit=N&cursor=C` of every listing (answers are `{items, next}`, see src/api/pagination.ts). */
export const pagination = {
	limit: { type: "number", integer: true, min: 1, max: MAX_PAGE, optional: true, convert: true },
	cursor: { type: "string", max: 1024, optional: true },
} as const;

export const MAX_FILE_SET_FILES = 200;
export const MAX_FILE_BYTES = 1024 * 1024;

/** A set of as-code files (`{path, content}`), as imported, pushed or rendered. */
export const fileSet = {
	type: "array",
	min: 1,
	max: MAX_FILE_SET_FILES,
	items: {
		type: "object",
		props: {
			path: { type: "string", min: 1, max: 1024 },
			content: { type: "string", max: MAX_FILE_BYTES },
		},
	},
} as const;

/** One file of a file set. */
export interface FileSetFile {
	path: string;
	content: string;
}
