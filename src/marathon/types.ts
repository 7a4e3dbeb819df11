// Marathon's REST API (v2) as CDS-TS reads and writes it: the subset of the AppDefinition,
// App, Task, Deployment and Queue shapes of Marathon's published RAML (docs/rest-api/public/
// api/v2/types/*.raml) that the hatchery driver and the deployment plugin use. Fields Marathon
// sends and this code never reads are left out of the types, not refused.

export interface MarathonArtifact {
	uri: string;
	extract?: boolean;
	executable?: boolean;
	cache?: boolean;
	destPath?: string;
}

export interface MarathonContainer {
	type: "DOCKER" | "MESOS";
	docker?: { image: string; forcePullImage?: boolean; network?: string; privileged?: boolean };
	volumes?: Array<{ containerPath: string; hostPath?: string; mode: "RO" | "RW" }>;
}

export interface MarathonHealthCheck {
	protocol: "HTTP" | "HTTPS" | "TCP" | "COMMAND" | "MESOS_HTTP" | "MESOS_HTTPS" | "MESOS_TCP";
	path?: string;
	portIndex?: number;
	command?: { value: string };
	gracePeriodSeconds?: number;
	intervalSeconds?: number;
	timeoutSeconds?: number;
	maxConsecutiveFailures?: number;
}

/** What a client sends to create or update an app (`POST /v2/apps`, `PUT /v2/apps/{id}`). */
export interface AppDefinition {
	id: string;
	cmd?: string;
	args?: string[];
	instances?: number;
	cpus?: number;
	mem?: number;
	disk?: number;
	env?: Record<string, string | { secret: string }>;
	labels?: Record<string, string>;
	container?: MarathonContainer;
	fetch?: MarathonArtifact[];
	constraints?: string[][];
	healthChecks?: MarathonHealthCheck[];
	backoffSeconds?: number;
	backoffFactor?: number;
	maxLaunchDelaySeconds?: number;
	upgradeStrategy?: { minimumHealthCapacity?: number; maximumOverCapacity?: number };
	killSelection?: "YOUNGEST_FIRST" | "OLDEST_FIRST";
	user?: string;
	version?: string;
	[other: string]: unknown;
}

export type TaskState =
	| "TASK_STAGING"
	| "TASK_STARTING"
	| "TASK_RUNNING"
	| "TASK_FINISHED"
	| "TASK_FAILED"
	| "TASK_KILLING"
	| "TASK_KILLED"
	| "TASK_LOST"
	| "TASK_ERROR"
	| "TASK_DROPPED"
	| "TASK_GONE"
	| "TASK_UNREACHABLE"
	| "TASK_UNKNOWN";

export interface MarathonTask {
	id: string;
	appId: string;
	host: string;
	state: TaskState;
	stagedAt?: string;
	startedAt?: string;
	version?: string;
	slaveId?: string;
	healthCheckResults?: Array<{ alive: boolean; consecutiveFailures: number; lastFailureCause?: string }>;
}

export interface TaskFailure {
	appId: string;
	taskId: string;
	state: TaskState;
	message: string;
	host: string;
	timestamp: string;
	version: string;
	slaveId?: string;
}

/** An app as Marathon returns it (`GET /v2/apps/{id}`, with `embed=apps.tasks` etc.). */
export interface MarathonApp extends AppDefinition {
	version: string;
	tasksStaged?: number;
	tasksRunning?: number;
	tasksHealthy?: number;
	tasksUnhealthy?: number;
	deployments?: Array<{ id: string }>;
	tasks?: MarathonTask[];
	lastTaskFailure?: TaskFailure;
}

/** What a change (create, update, delete, restart) answers: the deployment it started. */
export interface DeploymentRef {
	deploymentId: string;
	version: string;
}

export interface MarathonDeployment {
	id: string;
	version: string;
	affectedApps: string[];
	currentStep: number;
	totalSteps: number;
	currentActions: Array<{ action: string; app: string; readinessCheckResults?: unknown[] }>;
	steps?: Array<{ actions: Array<{ action: string; app: string }> }>;
}

export interface QueueItem {
	count: number;
	delay: { timeLeftSeconds: number; overdue: boolean };
	since: string;
	app?: { id: string };
	processedOffersSummary?: {
		processedOffersCount: number;
		unusedOffersCount: number;
		lastUnusedOfferAt?: string;
		rejectSummaryLastOffers?: Array<{ reason: string; declined: number; processed: number }>;
	};
}

/** Marathon's error body: `{message}` and, for a validation error, `{message, details: [{path, errors}]}`. */
export interface MarathonErrorBody {
	message?: string;
	details?: Array<{ path: string; errors: string[] }>;
	deployments?: Array<{ id: string }>;
}
