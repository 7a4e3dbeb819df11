// Hardened streaming XML on top of saxes: no entity definitions, no external resources.
import { SaxesParser, type SaxesTagPlain } from "saxes";
import { type ParseContext, failure, ReportParseError } from "./errors.ts";
import { type ByteSource, decodeText } from "./source.ts";

export interface XmlHandlers {
	open(tag: SaxesTagPlain): void;
	close(name: string): void;
	/** Character data and CDATA, in document order. */
	text?(text: string): void;
}

/**
 * Streams XML into the handlers.
 * Security: saxes never loads DTDs nor expands entities beyond the five predefined ones (an unknown
 * `&name;` is an error). On top of that a DOCTYPE with an internal subset (`[...]`, where entities are
 * defined: billion laughs, XXE) is refused outright. A DOCTYPE carrying only an external identifier
 * (Cobertura's and JaCoCo's DTD references) is accepted and never fetched.
 */
export async function parseXml(source: ByteSource, ctx: ParseContext, handlers: XmlHandlers): Promise<void> {
	const parser = new SaxesParser({ xmlns: false, position: true });
	let refusal: ReportParseError | undefined;
	let syntaxError: Error | undefined;
	parser.on("doctype", (doctype) => {
		if (doctype.includes("[") || /<!ENTITY/i.test(doctype)) {
			refusal ??= failure(
				ctx,
				"refused: DOCTYPE with an internal subset (entity definitions are not allowed)",
				{
					line: parser.line,
					column: parser.column,
				},
			);
		}
	});
	let sawRoot = false;
	// saxes keeps one handler per event, so everything for "opentag" happens here.
	parser.on("opentag", (tag) => {
		sawRoot = true;
		handlers.open(tag as SaxesTagPlain);
	});
	parser.on("closetag", (tag) => handlers.close(tag.name));
	if (handlers.text) {
		const onText = handlers.text;
		parser.on("text", onText);
		parser.on("cdata", onText);
	}
	parser.on("error", (error) => {
		syntaxError ??= error;
	});
	const check = () => {
		if (refusal) throw refusal;
		if (syntaxError) {
			throw failure(ctx, `invalid XML: ${cleanSaxesMessage(syntaxError.message)}`, {
				line: parser.line,
				column: parser.column,
			});
		}
	};
	try {
		for await (const text of decodeText(source)) {
			parser.write(text);
			check();
		}
		parser.close();
		check();
	} catch (error) {
		if (error instanceof ReportParseError) throw error;
		throw failure(
			ctx,
			`invalid XML: ${cleanSaxesMessage(error instanceof Error ? error.message : String(error))}`,
			{
				line: parser.line,
				column: parser.column,
			},
		);
	}
	if (!sawRoot) throw failure(ctx, "invalid XML: no root element (empty file?)");
}

// saxes prefixes messages with "undefined:line:col: "; we report the position ourselves.
function cleanSaxesMessage(message: string): string {
	return message.replace(/^(?:[^:]*:)?\d+:\d+: /, "");
}

export function numberAttr(tag: SaxesTagPlain, name: string): number | undefined {
	const raw = tag.attributes[name];
	if (raw === undefined || raw === "") return undefined;
	// Some Surefire versions format times with thousands separators ("1,234.5").
	const value = Number(raw.replace(/,/g, ""));
	return Number.isFinite(value) ? value : undefined;
}

export function stringAttr(tag: SaxesTagPlain, name: string): string | undefined {
	const raw = tag.attributes[name];
	return raw === undefined || raw === "" ? undefined : raw;
}
