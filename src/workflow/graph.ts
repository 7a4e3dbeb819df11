/** The structural view of a workflow the parser and the run engine share. */
export interface GraphNode {
	name: string;
	dependsOn: readonly string[];
	/** Undefined for forks. */
	pipeline?: string | undefined;
}

/**
 * Directed graph of workflow nodes (edges parent → child). Unknown parents are ignored here;
 * the parser reports them. All listings are sorted by name so results are stable.
 */
export class WorkflowGraph {
	private readonly nodes = new Map<string, GraphNode>();
	private readonly parentsOf = new Map<string, string[]>();
	private readonly childrenOf = new Map<string, string[]>();

	constructor(nodes: readonly GraphNode[]) {
		for (const node of nodes) this.nodes.set(node.name, node);
		for (const node of nodes) {
			this.parentsOf.set(node.name, []);
			this.childrenOf.set(node.name, this.childrenOf.get(node.name) ?? []);
		}
		for (const node of nodes) {
			for (const parent of new Set(node.dependsOn)) {
				if (!this.nodes.has(parent)) continue;
				this.parentsOf.get(node.name)!.push(parent);
				this.childrenOf.get(parent)!.push(node.name);
			}
		}
		for (const list of [...this.parentsOf.values(), ...this.childrenOf.values()]) list.sort();
	}

	get names(): string[] {
		return [...this.nodes.keys()].sort();
	}

	has(name: string): boolean {
		return this.nodes.has(name);
	}

	parents(name: string): string[] {
		return [...(this.parentsOf.get(name) ?? [])];
	}

	children(name: string): string[] {
		return [...(this.childrenOf.get(name) ?? [])];
	}

	/** Nodes without parents: where a run starts. */
	roots(): string[] {
		return this.names.filter((n) => this.parentsOf.get(n)!.length === 0);
	}

	/** Nodes without a pipeline: they only fan out to their children. */
	forks(): string[] {
		return this.names.filter((n) => this.nodes.get(n)!.pipeline === undefined);
	}

	/** Nodes with several parents: they wait for all of them. */
	joins(): string[] {
		return this.names.filter((n) => this.parentsOf.get(n)!.length > 1);
	}

	isFork(name: string): boolean {
		return this.nodes.has(name) && this.nodes.get(name)!.pipeline === undefined;
	}

	isJoin(name: string): boolean {
		return (this.parentsOf.get(name)?.length ?? 0) > 1;
	}

	/**
	 * One cycle as the list of its nodes in edge order (a → b → … → a, the first node not
	 * repeated), or undefined when the graph is acyclic.
	 */
	findCycle(): string[] | undefined {
		const state = new Map<string, "open" | "done">();
		const path: string[] = [];
		const visit = (name: string): string[] | undefined => {
			state.set(name, "open");
			path.push(name);
			for (const child of this.childrenOf.get(name)!) {
				const s = state.get(child);
				if (s === "open") return path.slice(path.indexOf(child));
				if (s === undefined) {
					const found = visit(child);
					if (found) return found;
				}
			}
			path.pop();
			state.set(name, "done");
			return undefined;
		};
		for (const name of this.names) {
			if (state.has(name)) continue;
			const found = visit(name);
			if (found) return found;
		}
		return undefined;
	}

	/** Parents before children, ties broken by name. Throws on a cycle: check findCycle() first. */
	topologicalOrder(): string[] {
		const pending = new Map(this.names.map((n) => [n, this.parentsOf.get(n)!.length]));
		const ready = this.names.filter((n) => pending.get(n) === 0);
		const order: string[] = [];
		while (ready.length > 0) {
			ready.sort();
			const name = ready.shift()!;
			order.push(name);
			for (const child of this.childrenOf.get(name)!) {
				const left = pending.get(child)! - 1;
				pending.set(child, left);
				if (left === 0) ready.push(child);
			}
		}
		if (order.length !== this.nodes.size) {
			throw new Error(`workflow graph has a cycle through ${this.findCycle()?.join(" -> ") ?? "?"}`);
		}
		return order;
	}

	/** Every node reachable from `name` through children, sorted. */
	descendants(name: string): string[] {
		const seen = new Set<string>();
		const stack = this.children(name);
		while (stack.length > 0) {
			const next = stack.pop()!;
			if (seen.has(next)) continue;
			seen.add(next);
			stack.push(...this.children(next));
		}
		return [...seen].sort();
	}
}
