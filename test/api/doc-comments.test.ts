/**
 * Every public export has a doc comment: whatever `layertracer` or `layertracer/node` exports (src/node.ts
 * and src/browser.ts, which include src/index.ts) is in the API reference (npm run docs), and an entry
 * there with no text is a hole in it. Reads the sources with the compiler that emits the declarations,
 * with the same settings (tsconfig.types.json); a re-export counts as documented when its target is.
 */
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ENTRIES = ['src/node.ts', 'src/browser.ts'];

function undocumentedExports(): { entry: string; name: string; file: string }[] {
  const config = ts.getParsedCommandLineOfConfigFile(
    `${ROOT}tsconfig.types.json`,
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  )!;
  const program = ts.createProgram({ rootNames: config.fileNames, options: { ...config.options, noEmit: true } });
  const checker = program.getTypeChecker();
  const missing: { entry: string; name: string; file: string }[] = [];
  for (const entry of ENTRIES) {
    const source = program.getSourceFile(`${ROOT}${entry}`);
    if (!source) throw new Error(`${entry} is not in tsconfig.types.json's program`);
    for (const exported of checker.getExportsOfModule(checker.getSymbolAtLocation(source)!)) {
      const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      const text = ts.displayPartsToString(target.getDocumentationComment(checker)).trim();
      if (!text) {
        const file = target.declarations?.[0]?.getSourceFile().fileName.slice(ROOT.length) ?? '?';
        missing.push({ entry, name: exported.name, file });
      }
    }
  }
  return missing;
}

describe('API reference', () => {
  it('every export of the package entries has a doc comment', () => {
    const missing = undocumentedExports();
    const unique = [...new Map(missing.map((m) => [`${m.name} ${m.file}`, m])).values()];
    const list = unique.map((m) => `  ${m.name} (${m.file})`).join('\n');
    expect(unique.length, `${unique.length} public exports have no doc comment (/** ... */ above the declaration):\n${list}`).toBe(0);
  });
});
