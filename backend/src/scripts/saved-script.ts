/** A script a user stored to run again later. */
export interface SavedScript {
  id: string;
  userId: string;
  name: string;
  lang: string;
  langVersion: string;
  script: string;
  description: string;
  createdAt: Date;
  updatedAt: Date;
}

/** What the owner sets; every save replaces all of them. */
export type SavedScriptFields = Pick<SavedScript, 'name' | 'lang' | 'langVersion' | 'script' | 'description'>;

/** The JSON an API client sees for a saved script. */
export function savedScriptView(s: SavedScript): Record<string, unknown> {
  return {
    script_id: s.id,
    name: s.name,
    lang: s.lang,
    lang_version: s.langVersion,
    script: s.script,
    description: s.description,
    created_at: s.createdAt.toISOString(),
    updated_at: s.updatedAt.toISOString(),
  };
}
