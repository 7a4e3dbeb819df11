/**
 * Parser for Go text/template: turns tokens into trees, one per template
 * name ({{define}} and {{block}} add trees next to the main one).
 */
import type {
	ArgNode,
	BranchNode,
	CommandNode,
	ListNode,
	Node,
	PipeNode,
	TemplateNode,
	Tree,
	VariableNode,
} from "./ast.ts";
import { positionAt, TemplateError } from "./errors.ts";
import { lex, type Token } from "./lexer.ts";
import { parseNumber, unquote } from "./literals.ts";

interface ControlMarker {
	kind: "end" | "else";
	pos: number;
}

export interface ParseOptions {
	leftDelim: string;
	rightDelim: string;
	/** Names of the functions a template may call (checked at parse time, as Go does). */
	functionNames: ReadonlySet<string>;
}

/** Parses `text` and returns every tree it defines, keyed by template name. */
export function parseTrees(name: string, text: string, options: ParseOptions): Map<string, Tree> {
	return new TemplateParser(name, text, options).parse();
}

function isEmptyList(list: ListNode): boolean {
	return list.nodes.every((n) => n.kind === "text" && n.text.trim() === "");
}

class TemplateParser {
	private readonly name: string;
	private readonly text: string;
	private readonly options: ParseOptions;
	private readonly tokens: Token[];
	private index = 0;
	private vars: string[] = ["$"];
	private rangeDepth = 0;
	private readonly trees = new Map<string, Tree>();

	constructor(name: string, text: string, options: ParseOptions) {
		this.name = name;
		this.text = text;
		this.options = options;
		this.tokens = lex(text, options.leftDelim, options.rightDelim);
	}

	parse(): Map<string, Tree> {
		const root: ListNode = { kind: "list", pos: 0, nodes: [] };
		while (this.peek().type !== "eof") {
			if (this.peek().type === "leftDelim") {
				const saved = this.index;
				this.next();
				const word = this.nextNonSpace();
				if (word.type === "keyword" && word.value === "define") {
					this.parseDefinition();
					continue;
				}
				this.index = saved;
			}
			const node = this.textOrAction();
			if (node === null) continue;
			if (node.kind === "end" || node.kind === "else") this.fail(`unexpected {{${node.kind}}}`);
			root.nodes.push(node as Node);
		}
		this.addTree(this.name, root);
		return this.trees;
	}

	// --- token stream -------------------------------------------------------

	private current(): Token {
		return this.tokens[Math.min(this.index, this.tokens.length - 1)] as Token;
	}

	private next(): Token {
		const token = this.current();
		if (token.type === "error") this.failAt(token, token.value);
		if (this.index < this.tokens.length - 1) this.index++;
		else this.index = this.tokens.length;
		return token;
	}

	private peek(): Token {
		const token = this.current();
		if (token.type === "error") this.failAt(token, token.value);
		return token;
	}

	private backup(): void {
		this.index--;
	}

	private nextNonSpace(): Token {
		let token = this.next();
		while (token.type === "space") token = this.next();
		return token;
	}

	private peekNonSpace(): Token {
		const saved = this.index;
		const token = this.nextNonSpace();
		this.index = saved;
		return token;
	}

	private expect(type: Token["type"], context: string): Token {
		const token = this.nextNonSpace();
		if (token.type !== type) this.unexpected(token, context);
		return token;
	}

	// --- errors ---------------------------------------------------------------

	private failAt(token: Token, message: string): never {
		const { line, column } = positionAt(this.text, token.pos);
		throw new TemplateError(
			`template: ${this.name}:${line}:${column}: ${message}`,
			this.name,
			line,
			column,
			"parse",
		);
	}

	private fail(message: string): never {
		const index = Math.max(0, Math.min(this.index - 1, this.tokens.length - 1));
		this.failAt(this.tokens[index] as Token, message);
	}

	private unexpected(token: Token, context: string): never {
		this.failAt(token, `unexpected ${describeToken(token)} in ${context}`);
	}

	// --- structure ------------------------------------------------------------

	private addTree(name: string, root: ListNode): void {
		const existing = this.trees.get(name);
		if (existing && !isEmptyList(existing.root) && !isEmptyList(root)) {
			this.fail(`template: multiple definition of template ${JSON.stringify(name)}`);
		}
		if (existing && isEmptyList(root)) return;
		this.trees.set(name, { name, parseName: this.name, source: this.text, root });
	}

	private parseDefinition(): void {
		const nameToken = this.nextNonSpace();
		const name = this.templateName(nameToken, "define clause");
		this.expect("rightDelim", "define clause");
		const savedVars = this.vars;
		this.vars = ["$"];
		const [list, end] = this.itemList();
		if (end.kind !== "end") this.fail(`unexpected {{${end.kind}}} in define clause`);
		this.vars = savedVars;
		this.addTree(name, list);
	}

	private itemList(): [ListNode, ControlMarker] {
		const list: ListNode = { kind: "list", pos: this.peekNonSpace().pos, nodes: [] };
		while (this.peekNonSpace().type !== "eof") {
			const node = this.textOrAction();
			if (node === null) continue;
			if (node.kind === "end" || node.kind === "else") return [list, node as ControlMarker];
			list.nodes.push(node as Node);
		}
		this.fail("unexpected EOF");
	}

	private textOrAction(): Node | ControlMarker | null {
		const token = this.nextNonSpace();
		switch (token.type) {
			case "text":
				return { kind: "text", pos: token.pos, text: token.value };
			case "leftDelim":
				return this.action();
			case "comment":
				return null;
			default:
				this.unexpected(token, "input");
		}
	}

	private action(): Node | ControlMarker {
		const token = this.nextNonSpace();
		if (token.type === "keyword") {
			switch (token.value) {
				case "block":
					return this.blockControl();
				case "break":
				case "continue":
					return this.loopControl(token);
				case "else":
					return this.elseControl(token);
				case "end":
					this.expect("rightDelim", "end");
					return { kind: "end", pos: token.pos };
				case "if":
				case "range":
				case "with":
					return this.branchControl(token.value);
				case "template":
					return this.templateControl();
			}
		}
		this.backup();
		const pipe = this.pipeline("command", "rightDelim");
		return { kind: "action", pos: pipe.pos, pipe };
	}

	private loopControl(token: Token): Node {
		const kind = token.value as "break" | "continue";
		this.expect("rightDelim", kind);
		if (this.rangeDepth === 0) this.failAt(token, `{{${kind}}} outside {{range}}`);
		return { kind, pos: token.pos };
	}

	private elseControl(token: Token): ControlMarker {
		const peek = this.peekNonSpace();
		// "{{else if ...}}" and "{{else with ...}}" leave the keyword for the enclosing control.
		if (peek.type === "keyword" && (peek.value === "if" || peek.value === "with")) {
			return { kind: "else", pos: peek.pos };
		}
		this.expect("rightDelim", "else");
		return { kind: "else", pos: token.pos };
	}

	private branchControl(context: "if" | "range" | "with"): BranchNode {
		const savedVars = this.vars.length;
		const pipe = this.pipeline(context, "rightDelim");
		if (context === "range") this.rangeDepth++;
		const [list, next] = this.itemList();
		if (context === "range") this.rangeDepth--;
		let elseList: ListNode | null = null;
		if (next.kind === "else") {
			const peek = this.peekNonSpace();
			if (context !== "range" && peek.type === "keyword" && peek.value === context) {
				this.nextNonSpace();
				elseList = { kind: "list", pos: next.pos, nodes: [this.branchControl(context)] };
			} else {
				const [otherwise, end] = this.itemList();
				if (end.kind !== "end") this.fail("expected end; found {{else}}");
				elseList = otherwise;
			}
		}
		this.vars.length = savedVars;
		return { kind: context, pos: pipe.pos, pipe, list, elseList };
	}

	private templateControl(): TemplateNode {
		// Go positions a {{template}} node at its name.
		const token = this.nextNonSpace();
		const name = this.templateName(token, "template clause");
		let pipe: PipeNode | null = null;
		if (this.nextNonSpace().type !== "rightDelim") {
			this.backup();
			pipe = this.pipeline("template clause", "rightDelim");
		}
		return { kind: "template", pos: token.pos, name, pipe };
	}

	private blockControl(): TemplateNode {
		const context = "block clause";
		const token = this.nextNonSpace();
		const name = this.templateName(token, context);
		const pipe = this.pipeline(context, "rightDelim");
		const savedVars = this.vars;
		this.vars = ["$"];
		const [list, end] = this.itemList();
		if (end.kind !== "end") this.fail(`unexpected {{${end.kind}}} in ${context}`);
		this.vars = savedVars;
		this.addTree(name, list);
		return { kind: "template", pos: token.pos, name, pipe };
	}

	private templateName(token: Token, context: string): string {
		if (token.type !== "string" && token.type !== "rawString") this.unexpected(token, context);
		try {
			return unquote(token.value);
		} catch {
			this.failAt(token, "invalid syntax");
		}
	}

	// --- pipelines ------------------------------------------------------------

	private pipeline(context: string, end: "rightDelim" | "rightParen"): PipeNode {
		const first = this.peekNonSpace();
		const pipe: PipeNode = { kind: "pipe", pos: first.pos, isAssign: false, decl: [], cmds: [] };
		this.declarations(pipe, context);
		while (true) {
			const token = this.nextNonSpace();
			if (token.type === end) {
				this.checkPipeline(pipe, context);
				return pipe;
			}
			switch (token.type) {
				case "bool":
				case "charConstant":
				case "dot":
				case "field":
				case "identifier":
				case "number":
				case "nil":
				case "rawString":
				case "string":
				case "variable":
				case "leftParen":
					this.backup();
					pipe.cmds.push(this.command());
					break;
				default:
					this.unexpected(token, context);
			}
		}
	}

	private declarations(pipe: PipeNode, context: string): void {
		while (true) {
			const v = this.peekNonSpace();
			if (v.type !== "variable") return;
			const saved = this.index;
			this.nextNonSpace();
			const next = this.peekNonSpace();
			const variable: VariableNode = { kind: "variable", pos: v.pos, idents: [v.value] };
			if (next.type === "assign" || next.type === "declare") {
				pipe.isAssign = next.type === "assign";
				this.nextNonSpace();
				pipe.decl.push(variable);
				this.vars.push(v.value);
				return;
			}
			if (next.type === "char" && next.value === ",") {
				this.nextNonSpace();
				pipe.decl.push(variable);
				this.vars.push(v.value);
				if (context === "range" && pipe.decl.length < 2) {
					const after = this.peekNonSpace();
					if (after.type === "variable" || after.type === "rightDelim" || after.type === "rightParen")
						continue;
					this.fail("range can only initialize variables");
				}
				this.fail(`too many declarations in ${context}`);
			}
			this.index = saved;
			return;
		}
	}

	private checkPipeline(pipe: PipeNode, context: string): void {
		if (pipe.cmds.length === 0) this.fail(`missing value for ${context}`);
		pipe.cmds.slice(1).forEach((cmd, i) => {
			const kind = cmd.args[0]?.kind;
			if (kind === "bool" || kind === "dot" || kind === "nil" || kind === "number" || kind === "string") {
				this.fail(`non executable command in pipeline stage ${i + 2}`);
			}
		});
	}

	private command(): CommandNode {
		const cmd: CommandNode = { kind: "command", pos: this.peekNonSpace().pos, args: [] };
		while (true) {
			this.peekNonSpace();
			const operand = this.operand();
			if (operand) cmd.args.push(operand);
			const token = this.next();
			if (token.type === "space") continue;
			if (token.type === "rightDelim" || token.type === "rightParen") this.backup();
			else if (token.type !== "pipe") this.unexpected(token, "operand");
			break;
		}
		if (cmd.args.length === 0) this.fail("empty command");
		return cmd;
	}

	private operand(): ArgNode | null {
		const node = this.term();
		if (node === null) return null;
		if (this.peek().type !== "field") return node;
		const fields: string[] = [];
		const chainPos = this.peek().pos;
		while (this.peek().type === "field") fields.push(this.next().value.slice(1));
		switch (node.kind) {
			case "field":
				return { kind: "field", pos: chainPos, idents: [...node.idents, ...fields] };
			case "variable":
				return { kind: "variable", pos: chainPos, idents: [...node.idents, ...fields] };
			case "bool":
			case "string":
			case "number":
			case "nil":
			case "dot":
				this.fail(`unexpected . after term ${JSON.stringify(nodeText(node))}`);
				break;
		}
		return { kind: "chain", pos: chainPos, node, fields };
	}

	private term(): ArgNode | null {
		const token = this.nextNonSpace();
		switch (token.type) {
			case "identifier":
				if (!this.options.functionNames.has(token.value)) {
					this.failAt(token, `function ${JSON.stringify(token.value)} not defined`);
				}
				return { kind: "identifier", pos: token.pos, name: token.value };
			case "dot":
				return { kind: "dot", pos: token.pos };
			case "nil":
				return { kind: "nil", pos: token.pos };
			case "variable":
				if (!this.vars.includes(token.value))
					this.failAt(token, `undefined variable ${JSON.stringify(token.value)}`);
				return { kind: "variable", pos: token.pos, idents: [token.value] };
			case "field":
				return { kind: "field", pos: token.pos, idents: [token.value.slice(1)] };
			case "bool":
				return { kind: "bool", pos: token.pos, value: token.value === "true" };
			case "number":
			case "charConstant":
				try {
					const n = parseNumber(token.value);
					return { kind: "number", pos: token.pos, text: token.value, value: n.value, isFloat: n.isFloat };
				} catch (err) {
					this.failAt(token, (err as Error).message);
				}
				break;
			case "leftParen":
				return this.pipeline("parenthesized pipeline", "rightParen");
			case "string":
			case "rawString":
				try {
					return { kind: "string", pos: token.pos, quoted: token.value, value: unquote(token.value) };
				} catch {
					this.failAt(token, "invalid syntax");
				}
		}
		this.backup();
		return null;
	}
}

function nodeText(node: ArgNode): string {
	switch (node.kind) {
		case "string":
			return node.quoted;
		case "number":
			return node.text;
		case "bool":
			return String(node.value);
		case "nil":
			return "nil";
		default:
			return ".";
	}
}

/** Go's item.String() used in "unexpected X in Y" messages. */
function describeToken(token: Token): string {
	if (token.type === "eof") return "EOF";
	if (token.type === "keyword") return `<${token.value}>`;
	if (token.type === "leftDelim" || token.type === "rightDelim") return JSON.stringify(token.value);
	if (token.value.length > 10) return `${JSON.stringify(token.value.slice(0, 10))}...`;
	return JSON.stringify(token.value);
}
