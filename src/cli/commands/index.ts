// The list of command modules. To add a command group, write src/cli/commands/<group>.ts
// exporting `register(registry: CommandRegistry): void` and add it to this list.

import type { CommandRegistry } from "../registry.ts";
import * as adminPlugin from "./admin-plugin.ts";
import * as localRun from "./local-run.ts";
import * as login from "./login.ts";
import * as newCommand from "./new.ts";
import * as project from "./project.ts";
import * as integration from "./integration.ts";
import * as hooks from "./hooks.ts";
import * as push from "./push.ts";
import * as report from "./report.ts";
import * as run from "./run.ts";
import * as template from "./template.ts";
import * as token from "./token.ts";
import * as version from "./version.ts";
import * as workflow from "./workflow.ts";

const modules: ReadonlyArray<{ register(registry: CommandRegistry): void }> = [
	login,
	project,
	integration, // after project: it adds the project integration group
	workflow,
	run, // after workflow: it adds commands to the workflow group
	token,
	version,
	template,
	newCommand,
	report,
	push,
	hooks,
	localRun,
	adminPlugin, // last: it adds the admin group only if no other module did
];

export function registerAllCommands(registry: CommandRegistry): void {
	for (const module of modules) module.register(registry);
}
