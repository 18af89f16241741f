/** `specformer import DIR|config.json [--out FILE.sf]`: placeholder until src/import lands. */
export async function runImport(_path: string, _o: { out?: string }): Promise<number> {
  throw new Error("import: not implemented yet");
}
