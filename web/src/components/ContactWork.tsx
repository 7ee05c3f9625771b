// The contact's script and form, beside the screen pop: loaded together (one audited read), each
// panel then saving on its own. A new contact, or a script that changed on the server, loads
// them again.

import { lazy, Suspense, useCallback, useEffect, useState } from "react";
import type { ApiClient } from "../api/client";
import { getScriptForm, type ScriptForm } from "../api/scripts";
import { ErrorMessage } from "./ErrorMessage";
import { ScriptPanel } from "./ScriptPanel";

// The form library is most of the app's weight: loaded when a form is first shown.
const FormPanel = lazy(() => import("./FormPanel").then((m) => ({ default: m.FormPanel })));

export function ContactWork({ api, contactId }: { api: ApiClient; contactId: string }) {
  const [found, setFound] = useState<ScriptForm | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loads, setLoads] = useState(0);

  useEffect(() => {
    let cancelled = false;
    setError(null);
    getScriptForm(api, contactId).then(
      (answer) => !cancelled && setFound(answer),
      (err: unknown) => !cancelled && setError(err),
    );
    return () => {
      cancelled = true;
    };
  }, [api, contactId, loads]);

  const reload = useCallback(() => setLoads((n) => n + 1), []);

  if (error !== null) return <ErrorMessage error={error} onDismiss={reload} />;
  if (found === null || found.contact_id !== contactId) return null;
  return (
    <>
      {found.script && found.script_state && (
        <ScriptPanel
          key={`${found.script.id}:${found.script.version}:${loads}`}
          api={api}
          contactId={contactId}
          script={found.script}
          state={found.script_state}
          onReload={reload}
        />
      )}
      {found.form && found.draft && (
        <Suspense fallback={null}>
          <FormPanel
            key={`${found.form.id}:${found.form.version}:${loads}`}
            api={api}
            contactId={contactId}
            form={found.form}
            draft={found.draft}
          />
        </Suspense>
      )}
    </>
  );
}
