/**
 * Parse-tree node shapes for Go text/template, plus Go's String() rendering of
 * nodes (used for the "at <...>" context in execution errors).
 */

interface Located {
	/** UTF-16 offset in the source of the template that defined the node. */
	pos: number;
}

export interface FieldNode extends Located {
	kind: "field";
	idents: string[];
}
export interface VariableNode extends Located {
	kind: "variable";
	idents: string[];
}
export interface IdentifierNode extends Located {
	kind: "identifier";
	name: string;
}
export interface DotNode extends Located {
	kind: "dot";
}
export interface NilNode extends Located {
	kind: "nil";
}
export interface BoolNode extends Located {
	kind: "bool";
	value: boolean;
}
export interface NumberNode extends Located {
	kind: "number";
	text: string;
	/** The value an untyped constant takes in an interface{} context: int or float64. */
	isFloat: boolean;
	value: number;
}
export interface StringNode extends Located {
	kind: "string";
	quoted: string;
	value: string;
}
export interface ChainNode extends Located {
	kind: "chain";
	node: ArgNode;
	fields: string[];
}
export interface PipeNode extends Located {
	kind: "pipe";
	isAssign: boolean;
	decl: VariableNode[];
	cmds: CommandNode[];
}
export interface CommandNode extends Located {
	kind: "command";
	args: ArgNode[];
}

export type ArgNode =
	| FieldNode
	| VariableNode
	| IdentifierNode
	| DotNode
	| NilNode
	| BoolNode
	| NumberNode
	| StringNode
	| ChainNode
	| PipeNode;

export interface ListNode extends Located {
	kind: "list";
	nodes: Node[];
}
export interface TextNode extends Located {
	kind: "text";
	text: string;
}
export interface ActionNode extends Located {
	kind: "action";
	pipe: PipeNode;
}
export interface BranchNode extends Located {
	kind: "if" | "range" | "with";
	pipe: PipeNode;
	list: ListNode;
	elseList: ListNode | null;
}
export interface TemplateNode extends Located {
	kind: "template";
	name: string;
	pipe: PipeNode | null;
}
export interface LoopControlNode extends Located {
	kind: "break" | "continue";
}

export type Node = ListNode | TextNode | ActionNode | BranchNode | TemplateNode | LoopControlNode;

/** A parsed template body together with the source it came from (for positions). */
export interface Tree {
	name: string;
	/** Name of the top-level template whose text contains this tree (Go's ParseName). */
	parseName: string;
	source: string;
	root: ListNode;
}

export function nodeString(node: Node | ArgNode | CommandNode): string {
	switch (node.kind) {
		case "field":
			return `.${node.idents.join(".")}`;
		case "variable":
			return node.idents.join(".");
		case "identifier":
			return node.name;
		case "dot":
			return ".";
		case "nil":
			return "nil";
		case "bool":
			return String(node.value);
		case "number":
			return node.text;
		case "string":
			return node.quoted;
		case "chain": {
			const inner = node.node.kind === "pipe" ? `(${nodeString(node.node)})` : nodeString(node.node);
			return inner + node.fields.map((f) => `.${f}`).join("");
		}
		case "pipe": {
			let out = "";
			if (node.decl.length > 0) {
				out = `${node.decl.map(nodeString).join(", ")} ${node.isAssign ? "=" : ":="} `;
			}
			return out + node.cmds.map(nodeString).join(" | ");
		}
		case "command":
			return node.args.map((a) => (a.kind === "pipe" ? `(${nodeString(a)})` : nodeString(a))).join(" ");
		case "list":
			return node.nodes.map(nodeString).join("");
		case "text":
			return node.text;
		case "action":
			return `{{${nodeString(node.pipe)}}}`;
		case "if":
		case "range":
		case "with": {
			const elsePart = node.elseList ? `{{else}}${nodeString(node.elseList)}` : "";
			return `{{${node.kind} ${nodeString(node.pipe)}}}${nodeString(node.list)}${elsePart}{{end}}`;
		}
		case "template":
			return node.pipe
				? `{{template ${JSON.stringify(node.name)} ${nodeString(node.pipe)}}}`
				: `{{template ${JSON.stringify(node.name)}}}`;
		case "break":
			return "{{break}}";
		case "continue":
			return "{{continue}}";
	}
}
