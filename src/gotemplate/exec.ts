/**
 * Executes parsed trees against data, following Go's text/template exec.go:
 * the same evaluation order, variable scoping, error positions and messages.
 * Templates are data-driven only: nothing here evaluates JavaScript source.
 */
import {
	type ArgNode,
	type BranchNode,
	type ChainNode,
	type CommandNode,
	type FieldNode,
	type IdentifierNode,
	type Node,
	nodeString,
	type PipeNode,
	type TemplateNode,
	type Tree,
	type VariableNode,
} from "./ast.ts";
import { BUILTINS, type FunctionSpec, type ParamType } from "./builtins.ts";
import { positionAt, TemplateError } from "./errors.ts";
import { sprint } from "./format.ts";
import { GoFloat, type GoMap, isTrue, kindOf, numberOf, sortedKeys, typeName } from "./values.ts";

export type MissingKeyMode = "default" | "zero" | "error";

export interface ExecLimits {
	/** Maximum output length in characters. */
	maxOutputSize: number;
	/** Maximum nesting of {{template}} calls (Go's own limit is 100000). */
	maxDepth: number;
	/** Maximum number of executed nodes and range iterations. */
	maxSteps: number;
}

export interface ExecContext {
	trees: ReadonlyMap<string, Tree>;
	funcs: ReadonlyMap<string, FunctionSpec>;
	missingKey: MissingKeyMode;
	limits: ExecLimits;
}

/** Marks "no value piped in from the previous command" (Go's missingVal). */
const NO_FINAL: unique symbol = Symbol("noFinal");
type Final = unknown;

const BREAK = Symbol("break");
const CONTINUE = Symbol("continue");

interface Variable {
	name: string;
	value: unknown;
}

type Located = Node | ArgNode | CommandNode;

export function execute(ctx: ExecContext, name: string, data: unknown): string {
	const tree = ctx.trees.get(name);
	if (!tree)
		throw new TemplateError(
			`template: ${name}: no such template ${JSON.stringify(name)}`,
			name,
			0,
			0,
			"exec",
		);
	// A null root is Go's nil data: an invalid value, not a nil interface.
	const root = data === null ? undefined : data;
	const state = new ExecState(ctx, tree, root);
	try {
		state.walk(root, tree.root, false);
	} catch (err) {
		if (err instanceof TemplateError) throw err;
		if (err instanceof RangeError) state.fail("template execution is nested too deeply");
		throw err;
	}
	return state.output();
}

class ExecState {
	private readonly ctx: ExecContext;
	private tree: Tree;
	private node: Located | null = null;
	private vars: Variable[];
	private depth = 0;
	private readonly chunks: string[] = [];
	private size = 0;
	private steps = 0;
	/** Whether dot is an element taken out of a list or map (typed interface{} in Go). */
	private dotBoxed = false;

	constructor(ctx: ExecContext, tree: Tree, data: unknown) {
		this.ctx = ctx;
		this.tree = tree;
		this.vars = [{ name: "$", value: data }];
	}

	output(): string {
		return this.chunks.join("");
	}

	// --- errors and limits ----------------------------------------------------

	private at(node: Located): void {
		this.node = node;
	}

	fail(message: string): never {
		const name = this.tree.name;
		if (this.node === null) {
			throw new TemplateError(`template: ${name}: ${message}`, name, 0, 0, "exec");
		}
		const { line, column } = positionAt(this.tree.source, this.node.pos);
		const where = `${this.tree.parseName}:${line}:${column}`;
		throw new TemplateError(
			`template: ${where}: executing ${JSON.stringify(name)} at <${nodeString(this.node)}>: ${message}`,
			this.tree.parseName,
			line,
			column,
			"exec",
		);
	}

	private step(): void {
		if (++this.steps > this.ctx.limits.maxSteps) {
			this.fail(`template execution exceeded the limit of ${this.ctx.limits.maxSteps} steps`);
		}
	}

	private write(text: string): void {
		this.size += text.length;
		if (this.size > this.ctx.limits.maxOutputSize) {
			this.fail(`template output exceeds the limit of ${this.ctx.limits.maxOutputSize} characters`);
		}
		this.chunks.push(text);
	}

	// --- variables --------------------------------------------------------------

	private varValue(name: string): unknown {
		for (let i = this.vars.length - 1; i >= 0; i--) {
			const v = this.vars[i] as Variable;
			if (v.name === name) return v.value;
		}
		this.fail(`undefined variable: ${name}`);
	}

	private setVar(name: string, value: unknown): void {
		for (let i = this.vars.length - 1; i >= 0; i--) {
			const v = this.vars[i] as Variable;
			if (v.name === name) {
				v.value = value;
				return;
			}
		}
		this.fail(`undefined variable: ${name}`);
	}

	private setTopVar(n: number, value: unknown): void {
		const v = this.vars[this.vars.length - n];
		if (v) v.value = value;
	}

	// --- statements -------------------------------------------------------------

	walk(dot: unknown, node: Node, boxed: boolean): void {
		this.at(node);
		this.step();
		this.dotBoxed = boxed;
		switch (node.kind) {
			case "action": {
				const value = this.evalPipeline(dot, node.pipe);
				if (node.pipe.decl.length === 0) this.printValue(node, value);
				return;
			}
			case "break":
				throw BREAK;
			case "continue":
				throw CONTINUE;
			case "if":
			case "with":
				this.walkIfOrWith(dot, node, boxed);
				return;
			case "list":
				for (const child of node.nodes) this.walk(dot, child, boxed);
				return;
			case "range":
				this.walkRange(dot, node, boxed);
				return;
			case "template":
				this.walkTemplate(dot, node);
				return;
			case "text":
				this.write(node.text);
				return;
		}
	}

	private printValue(node: Node, value: unknown): void {
		this.at(node);
		if (value === undefined) {
			this.write("<no value>");
			return;
		}
		if (kindOf(value) === "func") this.fail(`can't print ${nodeString(node)} of type func`);
		this.write(sprint([value]));
	}

	private walkIfOrWith(dot: unknown, node: BranchNode, boxed: boolean): void {
		const mark = this.vars.length;
		try {
			const value = this.evalPipeline(dot, node.pipe);
			if (isTrue(value)) {
				if (node.kind === "with") this.walk(value, node.list, false);
				else this.walk(dot, node.list, boxed);
			} else if (node.elseList) {
				this.walk(dot, node.elseList, boxed);
			}
		} finally {
			this.vars.length = mark;
		}
	}

	private walkRange(dot: unknown, node: BranchNode, boxed: boolean): void {
		this.at(node);
		const outerMark = this.vars.length;
		try {
			const value = this.evalPipeline(dot, node.pipe);
			const mark = this.vars.length;
			const decl = node.pipe.decl;
			const iterate = (index: unknown, elem: unknown, elemBoxed: boolean): void => {
				this.step();
				if (decl.length > 0) {
					if (node.pipe.isAssign) {
						this.setVar((decl[0] as VariableNode).idents[0] as string, decl.length > 1 ? index : elem);
					} else {
						this.setTopVar(1, elem);
					}
				}
				if (decl.length > 1) {
					if (node.pipe.isAssign) this.setVar((decl[1] as VariableNode).idents[0] as string, elem);
					else this.setTopVar(2, index);
				}
				try {
					this.walk(elem, node.list, elemBoxed);
				} catch (err) {
					if (err !== CONTINUE) throw err;
				} finally {
					this.vars.length = mark;
				}
			};
			let ran = false;
			try {
				switch (kindOf(value)) {
					case "slice": {
						const list = value as unknown[];
						for (let i = 0; i < list.length; i++) {
							ran = true;
							iterate(i, list[i] === undefined ? null : list[i], true);
						}
						break;
					}
					case "map": {
						const map = value as GoMap;
						for (const key of sortedKeys(map)) {
							ran = true;
							iterate(key, map[key], true);
						}
						break;
					}
					case "int": {
						if (decl.length > 1)
							this.fail(`can't use ${sprint([value])} to iterate over more than one variable`);
						const n = numberOf(value);
						for (let i = 0; i < n; i++) {
							ran = true;
							iterate(i, i, false);
						}
						break;
					}
					case "invalid":
					case "nil":
						break;
					default:
						this.fail(`range can't iterate over ${sprint([value])}`);
				}
			} catch (err) {
				if (err !== BREAK) throw err;
			}
			if (!ran && node.elseList) this.walk(dot, node.elseList, boxed);
		} finally {
			this.vars.length = outerMark;
		}
	}

	private walkTemplate(dot: unknown, node: TemplateNode): void {
		this.at(node);
		const tree = this.ctx.trees.get(node.name);
		if (!tree) this.fail(`template ${JSON.stringify(node.name)} not defined`);
		if (this.depth >= this.ctx.limits.maxDepth) {
			this.fail(`exceeded maximum template depth (${this.ctx.limits.maxDepth})`);
		}
		const newDot = node.pipe ? this.evalPipeline(dot, node.pipe) : undefined;
		const saved = { tree: this.tree, vars: this.vars, depth: this.depth };
		this.tree = tree;
		this.vars = [{ name: "$", value: newDot }];
		this.depth++;
		try {
			this.walk(newDot, tree.root, false);
		} finally {
			this.tree = saved.tree;
			this.vars = saved.vars;
			this.depth = saved.depth;
		}
	}

	// --- pipelines and commands -------------------------------------------------

	private evalPipeline(dot: unknown, pipe: PipeNode): unknown {
		this.at(pipe);
		let value: unknown = NO_FINAL;
		for (const cmd of pipe.cmds) {
			value = this.evalCommand(dot, cmd, value);
			// A nil interface{} result becomes "no value", as Go digs into interface results.
			if (value === null) value = undefined;
		}
		for (const variable of pipe.decl) {
			const name = variable.idents[0] as string;
			if (pipe.isAssign) this.setVar(name, value);
			else this.vars.push({ name, value });
		}
		return value;
	}

	private notAFunction(args: ArgNode[], final: Final): void {
		if (args.length > 1 || final !== NO_FINAL) {
			this.fail(`can't give argument to non-function ${nodeString(args[0] as ArgNode)}`);
		}
	}

	private evalCommand(dot: unknown, cmd: CommandNode, final: Final): unknown {
		const first = cmd.args[0] as ArgNode;
		switch (first.kind) {
			case "field":
				return this.evalFieldNode(dot, first, cmd.args, final);
			case "chain":
				return this.evalChainNode(dot, first, cmd.args, final);
			case "identifier":
				return this.evalFunction(dot, first, cmd, cmd.args.slice(1), final);
			case "pipe":
				this.notAFunction(cmd.args, final);
				return this.evalPipeline(dot, first);
			case "variable":
				return this.evalVariableNode(dot, first, cmd.args, final);
		}
		this.at(first);
		this.notAFunction(cmd.args, final);
		switch (first.kind) {
			case "bool":
				return first.value;
			case "dot":
				return dot;
			case "nil":
				this.fail("nil is not a command");
				break;
			case "number":
				return idealConstant(first.value, first.isFloat);
			case "string":
				return first.value;
		}
		return undefined;
	}

	private evalFieldNode(dot: unknown, field: FieldNode, args: ArgNode[], final: Final): unknown {
		this.at(field);
		return this.evalFieldChain(dot, this.dotBoxed, field.idents, args, final);
	}

	private evalChainNode(dot: unknown, chain: ChainNode, args: ArgNode[], final: Final): unknown {
		this.at(chain);
		if (chain.node.kind === "nil") this.fail(`indirection through explicit nil in ${nodeString(chain)}`);
		const receiver = this.evalArg(dot, null, chain.node);
		this.at(chain);
		return this.evalFieldChain(receiver, false, chain.fields, args, final);
	}

	private evalVariableNode(dot: unknown, variable: VariableNode, args: ArgNode[], final: Final): unknown {
		this.at(variable);
		const value = this.varValue(variable.idents[0] as string);
		if (variable.idents.length === 1) {
			this.notAFunction(args, final);
			return value;
		}
		void dot;
		return this.evalFieldChain(value, false, variable.idents.slice(1), args, final);
	}

	private evalFieldChain(
		receiver: unknown,
		boxed: boolean,
		idents: string[],
		args: ArgNode[],
		final: Final,
	): unknown {
		let current = receiver;
		let currentBoxed = boxed;
		for (let i = 0; i < idents.length - 1; i++) {
			current = this.evalField(idents[i] as string, [], NO_FINAL, current, currentBoxed);
			currentBoxed = true;
		}
		return this.evalField(idents[idents.length - 1] as string, args, final, current, currentBoxed);
	}

	private evalField(name: string, args: ArgNode[], final: Final, receiver: unknown, boxed: boolean): unknown {
		if (receiver === undefined) {
			if (this.ctx.missingKey === "error") this.fail(`nil data; no entry for key ${JSON.stringify(name)}`);
			return undefined;
		}
		if (receiver === null) this.fail(`nil pointer evaluating interface {}.${name}`);
		if (kindOf(receiver) === "map") {
			if (args.length > 1 || final !== NO_FINAL) this.fail(`${name} is not a method but has arguments`);
			const map = receiver as GoMap;
			if (Object.hasOwn(map, name) && map[name] !== undefined) return map[name];
			switch (this.ctx.missingKey) {
				case "error":
					this.fail(`map has no entry for key ${JSON.stringify(name)}`);
					break;
				case "zero":
					return null;
				default:
					return undefined;
			}
		}
		this.fail(`can't evaluate field ${name} in type ${boxed ? "interface {}" : typeName(receiver)}`);
	}

	private evalFunction(
		dot: unknown,
		ident: IdentifierNode,
		cmd: Located,
		args: ArgNode[],
		final: Final,
	): unknown {
		this.at(ident);
		const spec = this.ctx.funcs.get(ident.name);
		if (!spec) this.fail(`${JSON.stringify(ident.name)} is not a defined function`);
		const name = ident.name;
		const numIn = args.length + (final === NO_FINAL ? 0 : 1);
		const fixed = spec.variadic ? spec.params.length - 1 : spec.params.length;
		if (spec.variadic ? numIn < fixed : numIn !== fixed) {
			const want = spec.variadic ? `at least ${fixed}` : String(fixed);
			this.fail(`wrong number of args for ${name}: want ${want} got ${spec.variadic ? args.length : numIn}`);
		}
		const paramType = (i: number): ParamType =>
			(i < spec.params.length ? spec.params[i] : spec.params[spec.params.length - 1]) as ParamType;

		if (spec === BUILTINS.and || spec === BUILTINS.or) {
			const wantTrue = spec === BUILTINS.or;
			let value: unknown;
			for (const arg of args) {
				value = this.evalArg(dot, "value", arg);
				if (isTrue(value) === wantTrue) return value;
			}
			if (final !== NO_FINAL) value = final;
			return value;
		}

		const argv = args.map((arg, i) => this.evalArg(dot, paramType(i), arg));
		if (final !== NO_FINAL) argv.push(this.validateType(final, paramType(argv.length)));
		try {
			return spec.call(...argv);
		} catch (err) {
			this.at(cmd);
			this.fail(`error calling ${name}: ${err instanceof Error ? err.message : String(err)}`);
		}
	}

	private evalArg(dot: unknown, type: ParamType | null, node: ArgNode): unknown {
		this.at(node);
		switch (node.kind) {
			case "dot":
				return this.validateType(dot, type);
			case "nil":
				if (type === "string" || type === "int") this.fail(`cannot assign nil to ${goType(type)}`);
				return type === "value" ? undefined : null;
			case "field":
				return this.validateType(this.evalFieldNode(dot, node, [node], NO_FINAL), type);
			case "variable":
				return this.validateType(this.evalVariableNode(dot, node, [node], NO_FINAL), type);
			case "pipe":
				return this.validateType(this.evalPipeline(dot, node), type);
			case "identifier":
				return this.validateType(this.evalFunction(dot, node, node, [], NO_FINAL), type);
			case "chain":
				return this.validateType(this.evalChainNode(dot, node, [], NO_FINAL), type);
		}
		const literal: unknown =
			node.kind === "number"
				? idealConstant(node.value, node.isFloat)
				: node.kind === "bool"
					? node.value
					: node.value;
		switch (type) {
			case "string":
				if (node.kind !== "string") this.fail(`expected string; found ${nodeString(node)}`);
				return literal;
			case "int":
				if (kindOf(literal) !== "int") this.fail(`expected integer; found ${nodeString(node)}`);
				return literal;
			case "list":
				this.fail(`can't handle ${nodeString(node)} for arg of type []interface {}`);
				break;
			default:
				return literal;
		}
	}

	private validateType(value: unknown, type: ParamType | null): unknown {
		if (value === undefined) {
			if (type === null || type === "value") return undefined;
			if (type === "any" || type === "list") return null;
			this.fail(`invalid value; expected ${goType(type)}`);
		}
		const kind = kindOf(value);
		switch (type) {
			case "string":
				if (kind !== "string")
					this.fail(`wrong type for value; expected string; got ${typeNameOrInterface(value)}`);
				return value;
			case "int":
				if (kind !== "int")
					this.fail(`wrong type for value; expected int; got ${typeNameOrInterface(value)}`);
				return value;
			case "list":
				if (kind !== "slice")
					this.fail(`wrong type for value; expected []interface {}; got ${typeNameOrInterface(value)}`);
				return value;
			default:
				return value;
		}
	}
}

function typeNameOrInterface(value: unknown): string {
	return value === null ? "interface {}" : typeName(value);
}

function goType(type: ParamType): string {
	return type === "list" ? "[]interface {}" : type === "value" ? "reflect.Value" : type;
}

/** The value an untyped numeric constant takes in an interface{} context. */
function idealConstant(value: number, isFloat: boolean): unknown {
	return isFloat && Number.isInteger(value) ? new GoFloat(value) : value;
}
