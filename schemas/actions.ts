// The actions services call on each other, with their parameters and answers: `callAction`
// (mixins/call.ts) checks both at compile time, so no caller casts an answer to a guessed shape.

import type { IntegrationsForJobAnswer, IntegrationsForJobParams } from "../src/integrations/model.ts";
import type { CommitState } from "../src/vcs/providers/client.ts";
import type { JobToken, OpenedSession, Principal, ResolvedSession } from "./auth.ts";
import type { FileSetFile } from "./params.ts";
import type { JobVariables, ProjectContext, SecretMaterial, UpsertEntitiesResult } from "./project.ts";
import type { RepositoryDoc, RepositoryFiles, StatusReport } from "./repository.ts";
import type { HookBinding } from "../src/hooks/bindings.ts";
import type { HatcheryCapabilities } from "../src/engine/requirements.ts";
import type { LogPage } from "../src/engine/log-page.ts";
import type {
	BookResult,
	CreateRunParams,
	JobTokenBooking,
	LiveJobsResult,
	QueueForResult,
	RunView,
	UnbookResult,
} from "./run.ts";
import type { DeleteBranchResult, SyncBranchResult, WorkflowNames, WorkflowView } from "./workflow.ts";

export interface ActionTypes {
	"auth.resolve": { params: { token: string }; result: Principal | null };
	"auth.issueJobToken": {
		params: { job: string; run: string; project: string; ttlSeconds: number };
		result: JobToken;
	};
	"auth.revokeJobToken": {
		params: { id: string; job?: string; stored?: boolean };
		result: { revoked: number };
	};
	"auth.openSession": { params: { token: string; ttlMs: number }; result: OpenedSession | null };
	"auth.resolveSession": { params: { session: string }; result: ResolvedSession | null };
	"auth.closeSession": { params: { session: string }; result: { closed: number } };
	"project.exists": { params: { key: string }; result: boolean };
	"project.context": { params: { key: string }; result: ProjectContext };
	"project.secretMaterial": { params: { key: string }; result: SecretMaterial };
	"project.jobVariables": {
		params: { key: string; application?: string; environment?: string };
		result: JobVariables;
	};
	"project.upsertEntities": { params: { key: string; entities: unknown[] }; result: UpsertEntitiesResult };
	"project.getApplication": { params: { key: string; name: string }; result: unknown };
	"project.integrationsForJob": { params: IntegrationsForJobParams; result: IntegrationsForJobAnswer };
	"project.upsertIntegrationModels": { params: { models: unknown[] }; result: { count: number } };
	"project.upsertIntegrations": {
		params: { key: string; integrations: unknown[] };
		result: { count: number };
	};
	"workflow.get": {
		params: { key: string; name: string; branch?: string; version?: number };
		result: WorkflowView;
	};
	"workflow.import": { params: { key: string; files: FileSetFile[]; force?: boolean }; result: unknown };
	"workflow.pipelineUsers": { params: { key: string; pipeline: string }; result: WorkflowNames };
	"workflow.repositoryUsers": { params: { repositoryId: string }; result: WorkflowNames };
	"workflow.hookBindings": { params: { types: string[] }; result: HookBinding[] };
	"workflow.removeProject": { params: { key: string }; result: { removed: number } };
	"workflow.syncBranch": {
		params: { repositoryId: string; branch: string; commit: string };
		result: SyncBranchResult;
	};
	"workflow.deleteBranch": { params: { repositoryId: string; branch: string }; result: DeleteBranchResult };
	/** The signed webhook receiver, called by the gateway with the raw body (base64). */
	"hook-webhook.receive": {
		params: { uuid: string; headers: Record<string, string>; body: string };
		result: { status: number; body: unknown };
	};
	"run.create": { params: CreateRunParams; result: RunView };
	"run.get": { params: { key: string; name: string; number: string }; result: RunView };
	"run.list": {
		params: { key: string; name: string; limit?: number };
		result: { items: RunView[]; next: string | null };
	};
	"run.logs": {
		params: { key: string; name: string; number: string; cursor?: string; limit?: number };
		result: LogPage;
	};
	"run.queueFor": { params: { capabilities: HatcheryCapabilities; limit: number }; result: QueueForResult };
	"run.book": { params: { jobId: string; hatchery: string }; result: BookResult };
	"run.unbook": { params: { jobId: string; reason: string; lost?: boolean }; result: UnbookResult };
	"run.liveJobs": { params: { hatchery: string }; result: LiveJobsResult };
	"run.jobToken": { params: { job: string }; result: JobTokenBooking | null };
	"run.workersAlive": { params: { hatchery: string; jobs: string[] }; result: { vouched: number } };
	"run.workspacesToDelete": { params: { hatchery: string }; result: string[] };
	"run.workspaceDeleted": { params: { id: string; hatchery: string }; result: { ok: boolean } };
	"template.decryptSecret": { params: { project: string; armored: string }; result: string };
	"repository.get": { params: { id: string }; result: RepositoryDoc };
	"repository.byHookUuid": { params: { uuid: string }; result: RepositoryDoc | null };
	"repository.refsAtLink": {
		params: { id: string };
		result: { refs: Array<{ ref: string; commit: string }> } | null;
	};
	"repository.listPollable": { params: Record<string, never>; result: RepositoryDoc[] };
	"repository.readFiles": {
		params: { id: string; commit: string; branch?: string };
		result: RepositoryFiles;
	};
	"repository.commitInfo": {
		params: { id: string; commit: string; branch?: string };
		result: { author: string; authorEmail: string; message: string };
	};
	"repository.reportStatus": {
		params: {
			repositoryId: string;
			commit: string;
			state: CommitState;
			context: string;
			description?: string;
			targetUrl?: string;
		};
		result: StatusReport;
	};
}

export type ActionName = keyof ActionTypes;
export type ActionParams<A extends ActionName> = ActionTypes[A]["params"];
export type ActionResult<A extends ActionName> = ActionTypes[A]["result"];
