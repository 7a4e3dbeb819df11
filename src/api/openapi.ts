// Builds the OpenAPI 3 document from the actions' own declarations (their `rest` route,
// their fastest-validator `params`, their permission), so the document cannot drift from
// the code: clients and fuzzers read it, and the auth test walks every route it lists.

export interface RouteDescription {
	action: string;
	method: string;
	/** Path with moleculer-web placeholders, e.g. /projects/:key/workflows/:name */
	path: string;
	params: Record<string, unknown>;
	summary?: string;
	description?: string;
	permission?: { level: string; project?: string };
	/** The body is the raw request stream (moleculer-web `type: "stream"`), not JSON. */
	stream?: boolean;
}

type JsonSchema = Record<string, unknown>;

const NON_NULL_TYPES = ["string", "number", "boolean", "object", "array"];

const STRING_FORMATS: Record<string, string> = {
	email: "email",
	url: "uri",
	uuid: "uuid",
	date: "date-time",
};

/** Converts one fastest-validator rule (string shorthand or object) to a JSON schema. */
function ruleToJsonSchema(rule: unknown): { schema: JsonSchema; optional: boolean } {
	if (typeof rule === "string") {
		const [typePart, ...flags] = rule.split("|");
		const optional = typePart.endsWith("?") || flags.some((f) => f.trim() === "optional");
		return ruleToJsonSchema({ type: typePart.replace(/\?$/, ""), optional });
	}
	if (Array.isArray(rule)) {
		const alternatives = rule.map((r) => ruleToJsonSchema(r));
		return {
			schema: { oneOf: alternatives.map((a) => a.schema) },
			optional: alternatives.every((a) => a.optional),
		};
	}
	const r = (rule ?? {}) as Record<string, any>;
	const optional = r.optional === true || r.default !== undefined;
	const s: JsonSchema = {};
	switch (r.type) {
		case "string":
			s.type = "string";
			if (r.min !== undefined) s.minLength = r.min;
			if (r.max !== undefined) s.maxLength = r.max;
			if (r.pattern) s.pattern = String(r.pattern instanceof RegExp ? r.pattern.source : r.pattern);
			if (r.enum) s.enum = r.enum;
			break;
		case "email":
		case "url":
		case "uuid":
		case "date":
			s.type = "string";
			s.format = STRING_FORMATS[r.type];
			break;
		case "number":
			s.type = r.integer ? "integer" : "number";
			if (r.min !== undefined) s.minimum = r.min;
			if (r.max !== undefined) s.maximum = r.max;
			break;
		case "boolean":
			s.type = "boolean";
			break;
		case "enum":
			s.enum = r.values;
			break;
		case "equal":
			s.const = r.value;
			break;
		case "array":
			s.type = "array";
			if (r.items) s.items = ruleToJsonSchema(r.items).schema;
			if (r.max !== undefined) s.maxItems = r.max;
			if (r.min !== undefined) s.minItems = r.min;
			break;
		case "object":
			Object.assign(s, objectSchema(r.props ?? r.properties ?? {}));
			if (!r.props && !r.properties) s.additionalProperties = true;
			break;
		case "record":
			s.type = "object";
			s.additionalProperties = r.value ? ruleToJsonSchema(r.value).schema : true;
			break;
		case "multi":
			s.oneOf = (r.rules ?? []).map((x: unknown) => ruleToJsonSchema(x).schema);
			break;
		case "any":
			// fastest-validator's required "any" refuses null and absence; any other value passes.
			if (!optional) s.anyOf = NON_NULL_TYPES.map((type) => ({ type }));
			break;
		default:
			break; // custom rules: no constraint
	}
	if (r.nullable === true) s.nullable = true;
	if (r.default !== undefined && typeof r.default !== "function") s.default = r.default;
	if (r.description) s.description = r.description;
	return { schema: s, optional };
}

function objectSchema(props: Record<string, unknown>): JsonSchema {
	const properties: Record<string, JsonSchema> = {};
	const required: string[] = [];
	for (const [name, rule] of Object.entries(props)) {
		if (name.startsWith("$$")) continue;
		const { schema, optional } = ruleToJsonSchema(rule);
		// An optional field may also be sent as null: fastest-validator takes null for absent.
		properties[name] = optional ? { ...schema, nullable: true } : schema;
		if (!optional) required.push(name);
	}
	return { type: "object", properties, ...(required.length ? { required } : {}) };
}

const ERROR_SCHEMA: JsonSchema = {
	type: "object",
	required: ["code", "type", "message"],
	properties: {
		code: { type: "integer" },
		type: { type: "string" },
		message: { type: "string" },
		data: {},
	},
};

const PAGE_SCHEMA: JsonSchema = {
	type: "object",
	required: ["items", "next"],
	properties: {
		items: { type: "array", items: {} },
		next: { type: "string", nullable: true },
	},
};

function errorResponse(description: string) {
	return { description, content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } };
}

export function buildOpenApiDocument(
	routes: RouteDescription[],
	info: { title: string; version: string; serverUrl: string },
): Record<string, unknown> {
	const paths: Record<string, Record<string, unknown>> = {};
	const sorted = [...routes].sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method));
	for (const route of sorted) {
		const pathParams = [...route.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]);
		const openApiPath = route.path.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
		const method = route.method.toLowerCase();
		const parameters: unknown[] = [];
		const bodyProps: Record<string, unknown> = {};
		for (const [name, rule] of Object.entries(route.params ?? {})) {
			if (name.startsWith("$$")) continue;
			const { schema, optional } = ruleToJsonSchema(rule);
			if (pathParams.includes(name)) {
				parameters.push({ name, in: "path", required: true, schema });
			} else if (method === "get" || method === "delete") {
				parameters.push({ name, in: "query", required: !optional, schema });
			} else {
				bodyProps[name] = rule;
			}
		}
		for (const name of pathParams) {
			if (!parameters.some((p) => (p as { name: string }).name === name)) {
				parameters.push({ name, in: "path", required: true, schema: { type: "string" } });
			}
		}
		// A listing (`?limit&cursor`) answers one page and the cursor of the next (src/api/pagination.ts).
		const listing =
			method === "get" &&
			["limit", "cursor"].every((n) => parameters.some((p) => (p as { name: string }).name === n));
		const operation: Record<string, unknown> = {
			operationId: route.action,
			summary: route.summary ?? route.action,
			...(route.description ? { description: route.description } : {}),
			tags: [route.action.split(".")[0]],
			parameters,
			responses: {
				"200": {
					description: listing
						? "One page; `next` is the cursor of the following page, null after the last"
						: "OK",
					content: { "application/json": { schema: listing ? { $ref: "#/components/schemas/Page" } : {} } },
				},
				"401": errorResponse("missing, unknown, revoked or expired token"),
				"403": errorResponse("the token does not grant access"),
				"404": errorResponse("unknown entity"),
				"422": errorResponse("validation error"),
			},
			"x-cds-permission": route.permission ?? null,
		};
		const responses = operation.responses as Record<string, unknown>;
		if (method === "post")
			responses["201"] = { description: "Created", content: { "application/json": { schema: {} } } };
		if (method === "post" || method === "put")
			responses["409"] = errorResponse("duplicate or conflicting entity, or a state that forbids the change");
		if (route.stream) {
			operation.requestBody = {
				required: true,
				content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } },
			};
			responses["413"] = errorResponse("request body too large");
		} else if (Object.keys(bodyProps).length > 0) {
			operation.requestBody = {
				required: true,
				content: { "application/json": { schema: objectSchema(bodyProps) } },
			};
			responses["400"] = errorResponse("the request body is not valid JSON");
			responses["413"] = errorResponse("request body too large");
		}
		paths[openApiPath] ??= {};
		paths[openApiPath][method] = operation;
	}
	return {
		openapi: "3.0.3",
		info: { title: info.title, version: info.version },
		servers: [{ url: info.serverUrl }],
		security: [{ bearer: [] }],
		components: {
			securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
			schemas: { Error: ERROR_SCHEMA, Page: PAGE_SCHEMA },
		},
		paths,
	};
}
