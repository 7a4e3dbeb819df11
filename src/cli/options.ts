// Options shared by several commands.

import type { OptionSpec } from "./registry.ts";

export const JSON_OPTION: OptionSpec = { type: "boolean", description: "print the raw JSON" };
