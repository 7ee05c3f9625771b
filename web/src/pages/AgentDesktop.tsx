// The agent's screen for a busy shift: state, the ringing offer with a big Accept, the softphone,
// the caller's screen pop, notes and wrap-up. Live state comes from the events stream (the
// reducer's snapshot and the offer tracker); the REST answers fill in what events do not carry.

import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import type { ApiClient } from "../api/client";
import type { AgentMe, ChosenState, ContactPop, DeskOptions, PhoneKind, TransferMode } from "../api/types";
import { ContactWork } from "../components/ContactWork";
import { ErrorMessage } from "../components/ErrorMessage";
import { HelpPopover } from "../components/HelpPopover";
import { OfferBanner } from "../components/OfferBanner";
import { RequestPanel } from "../components/RequestPanel";
import { ScreenPop } from "../components/ScreenPop";
import { SoftphonePanel } from "../components/SoftphonePanel";
import { StatePanel } from "../components/StatePanel";
import { TransferDialog, type QueueChoice } from "../components/TransferDialog";
import { TransferProgress } from "../components/TransferProgress";
import { WrapUpPanel } from "../components/WrapUpPanel";
import { useI18n } from "../i18n";
import { toggledState, trackOffer, type Offer } from "../lib/desk";
import { formatDuration } from "../lib/format";
import { shortcutFor } from "../lib/shortcuts";
import { loadText, saveText } from "../lib/storage";
import { useNow } from "../lib/useNow";
import { useLive, useLiveStore } from "../live/LiveContext";
import { secondsSince } from "../live/store";
import { Softphone, type SoftphoneStatus } from "../softphone/softphone";
import { Tones } from "../softphone/tones";

const AUTO_ANSWER_KEY = "hotline.autoAnswer";
const CONSULT_POLL_MS = 1000;
const notesKey = (contactId: string) => `hotline.notes.${contactId}`;

function inTextField(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  const tag = target.tagName;
  return tag === "TEXTAREA" || tag === "SELECT" || (tag === "INPUT" && (target as HTMLInputElement).type !== "radio" && (target as HTMLInputElement).type !== "checkbox") || target.isContentEditable;
}

/** `specialist`: a department specialist, who also takes requests with no call behind them. */
export function AgentDesktop({ api, username, specialist = false }: { api: ApiClient; username: string; specialist?: boolean }) {
  const { t } = useI18n();
  const live = useLive();
  const store = useLiveStore();
  const now = useNow();
  const [agent, setAgent] = useState<AgentMe | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [offer, setOffer] = useState<Offer | null>(null);
  const [pop, setPop] = useState<ContactPop | null>(null);
  // Unknown until the server says which phone this agent chose (a guess would show the wrong one).
  const [phone, setPhone] = useState<PhoneKind | null>(null);
  const [phoneStatus, setPhoneStatus] = useState<SoftphoneStatus>("idle");
  const [muted, setMuted] = useState(false);
  const [held, setHeld] = useState(false);
  const [accepting, setAccepting] = useState(false);
  const [changingState, setChangingState] = useState(false);
  const [reasonDraft, setReasonDraft] = useState("");
  const [autoAnswer, setAutoAnswer] = useState(() => loadText(AUTO_ANSWER_KEY) === "1");
  const [notes, setNotes] = useState("");
  const [transferOpen, setTransferOpen] = useState(false);
  // Bumped to read GET /agent/me again when it changes without a state change (a warm transfer).
  const [meLoads, setMeLoads] = useState(0);
  const [helpOpen, setHelpOpen] = useState(false);
  const [options, setOptions] = useState<DeskOptions | null>(null);
  const audioRef = useRef<HTMLAudioElement>(null);
  const softphoneRef = useRef<Softphone | null>(null);
  const tones = useMemo(() => new Tones(), []);
  const autoAnswered = useRef<string | null>(null);

  // This agent as the live snapshot has it (the REST answer until the first snapshot).
  const row = live.snapshot?.agents.find((a) => a.username === username) ?? null;
  const state = row?.state ?? agent?.state ?? "offline";
  const since = row?.since ?? agent?.since ?? now;
  const reason = row ? row.reason : (agent?.reason ?? null);
  // In wrap-up the router has let go of the contact (the live row has none): it is the one the
  // REST view names, so that a reload during wrap-up finds it again whichever answer comes first.
  const contactId = row?.contact_id ?? (row === null || state === "wrap_up" ? (agent?.contact?.id ?? null) : null);
  const onCall = state === "busy";
  const ringing = offer !== null || state === "reserved";
  const inState = secondsSince(since, now, live.clockOffset);

  const run = useCallback(async (action: () => Promise<unknown>) => {
    setError(null);
    try {
      await action();
    } catch (err) {
      setError(err);
    }
  }, []);

  // The REST view: today's figures, queues, phone choice; refreshed whenever the state changes.
  useEffect(() => {
    let cancelled = false;
    api.agentMe().then(
      (me) => {
        if (cancelled) return;
        setAgent(me);
        setPhone(me.phone);
      },
      (err: unknown) => !cancelled && setError(err),
    );
    return () => {
      cancelled = true;
    };
  }, [api, row?.state, row?.contact_id, meLoads]);

  // Wrap-up codes and transfer targets: read when wrap-up or a transfer needs them (a
  // configuration published meanwhile shows the next time).
  const needOptions = state === "wrap_up" || transferOpen;
  useEffect(() => {
    if (!needOptions) return;
    let cancelled = false;
    api.agentOptions().then(
      (o) => !cancelled && setOptions(o),
      (err: unknown) => !cancelled && setError(err),
    );
    return () => {
      cancelled = true;
    };
  }, [api, needOptions]);

  // Offers ring from the event stream.
  useEffect(() => store.onEvent((event) => setOffer((o) => trackOffer(o, event, username))), [store, username]);

  // The screen pop follows the agent's current contact and stays through wrap-up.
  useEffect(() => {
    const wanted = contactId ?? offer?.contact_id ?? null;
    if (wanted === null) {
      if (state !== "wrap_up") setPop(null);
      return;
    }
    if (pop?.id === wanted) return;
    if (agent?.contact?.id === wanted) {
      setPop(agent.contact);
      return;
    }
    let cancelled = false;
    api.contact(wanted).then(
      (p) => !cancelled && setPop(p),
      (err: unknown) => !cancelled && setError(err),
    );
    return () => {
      cancelled = true;
    };
  }, [api, contactId, offer?.contact_id, state, agent?.contact, pop?.id]);

  // A new contact: fresh call flags, its own notes draft.
  useEffect(() => {
    setMuted(false);
    setHeld(false);
    setNotes(pop ? (loadText(notesKey(pop.id), "tab") ?? "") : "");
    // Only when the contact changes; typing saves the draft as it goes (changeNotes).
  }, [pop?.id]);


  // The browser leg lives while the page does and the agent takes calls in the browser.
  useEffect(() => {
    const audio = audioRef.current;
    if (!audio) return;
    const softphone = new Softphone(api, audio, setPhoneStatus);
    softphoneRef.current = softphone;
    const onHide = () => softphone.disconnect(true);
    window.addEventListener("pagehide", onHide);
    return () => {
      window.removeEventListener("pagehide", onHide);
      softphone.disconnect();
      softphoneRef.current = null;
    };
  }, [api]);

  useEffect(() => {
    const softphone = softphoneRef.current;
    if (!softphone || agent === null) return;
    if (phone === "webrtc") void softphone.connect();
    else softphone.disconnect();
  }, [phone, agent === null]);

  // Ring while an offer rings; browsers need a user gesture before any sound.
  useEffect(() => {
    const unlock = () => tones.unlock();
    window.addEventListener("pointerdown", unlock);
    window.addEventListener("keydown", unlock);
    return () => {
      window.removeEventListener("pointerdown", unlock);
      window.removeEventListener("keydown", unlock);
      tones.stopRing();
    };
  }, [tones]);

  useEffect(() => {
    if (!ringing) {
      tones.stopRing();
      return;
    }
    tones.startRing();
    // The tab's title rings too, for an agent who is looking at another tab.
    const title = document.title;
    document.title = `${t("offer.title")} · ${t("app.title")}`;
    return () => {
      document.title = title;
    };
  }, [ringing, tones, t]);

  const accept = useCallback(() => {
    if (accepting) return;
    setAccepting(true);
    void run(() => api.acceptOffer()).finally(() => setAccepting(false));
  }, [accepting, api, run]);

  const ringingId = offer?.contact_id ?? (state === "reserved" ? contactId : null);
  useEffect(() => {
    if (!autoAnswer || phone !== "webrtc" || phoneStatus !== "connected" || ringingId === null) return;
    if (autoAnswered.current === ringingId) return;
    autoAnswered.current = ringingId;
    accept();
  }, [autoAnswer, phone, phoneStatus, ringingId, accept]);

  const choose = useCallback(
    (next: ChosenState, why?: string) => {
      setChangingState(true);
      void run(async () => setAgent(await api.setState(next, why))).finally(() => setChangingState(false));
    },
    [api, run],
  );

  const hangup = useCallback(() => void run(() => api.callAction("hangup")), [api, run]);

  // Mute is the softphone's own: the microphone track stops sending; the server is not asked.
  const toggleMute = () => setMuted((m) => !m);
  useEffect(() => {
    softphoneRef.current?.setMicrophone(!muted);
  }, [muted, phoneStatus]);

  // A softphone that connects anew mid-call (after a dropped connection) is bridged to the caller
  // again by the server, which takes the caller off hold: so does the page.
  useEffect(() => {
    if (phoneStatus === "connected") setHeld(false);
  }, [phoneStatus]);

  const toggleHold = () =>
    void run(async () => {
      await api.callAction(held ? "resume" : "hold");
      setHeld(!held);
    });

  const digit = (d: string) => {
    tones.key(d);
    void run(() => api.sendDigits(d));
  };

  const changeNotes = (text: string) => {
    setNotes(text);
    if (pop) saveText(notesKey(pop.id), text, "tab");
  };

  const closeTransfer = useCallback(() => setTransferOpen(false), []);
  const closeHelp = useCallback(() => setHelpOpen(false), []);

  const transfer = async (mode: TransferMode, target: string) => {
    await api.transfer(mode, target);
    setMeLoads((n) => n + 1);
  };
  // A warm transfer in progress. The live feed shows an agent only their own row, not the
  // colleague answering the consultation: GET /agent/me is read each second until they have.
  const consulting = onCall ? (agent?.transfer ?? null) : null;
  const awaitingColleague = consulting !== null && !consulting.answered;
  useEffect(() => {
    if (!awaitingColleague) return;
    const timer = window.setInterval(() => setMeLoads((n) => n + 1), CONSULT_POLL_MS);
    return () => window.clearInterval(timer);
  }, [awaitingColleague]);
  const transferAction = (action: "complete" | "cancel") =>
    run(async () => {
      await api.transferAction(action);
      setMeLoads((n) => n + 1);
    });

  const finishWrapUp = async (code: string) => {
    await api.wrapUp(code, notes.trim() || undefined);
    if (pop) saveText(notesKey(pop.id), null, "tab");
    setNotes("");
  };

  const changePhone = (next: PhoneKind) =>
    void run(async () => {
      await api.setPhone(next);
      setPhone(next);
    });

  // Keyboard shortcuts (see lib/shortcuts.ts and the help popover).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const action = shortcutFor(e, inTextField(e.target));
      if (action === null) return;
      e.preventDefault();
      if (action === "answer" && ringing && phone === "webrtc") accept();
      else if (action === "hangup" && onCall) hangup();
      else if (action === "help") setHelpOpen((o) => !o);
      else if (action === "toggleReady") {
        const next = toggledState(state);
        if (next) choose(next, next === "not_ready" ? reasonDraft.trim() || undefined : undefined);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [ringing, phone, onCall, state, reasonDraft, accept, hangup, choose]);

  // A reload during a call keeps it (the server holds the caller until this page's softphone is
  // back), but closing the page would end it after the grace period: ask first.
  useEffect(() => {
    if (!(onCall || ringing)) return;
    const guard = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener("beforeunload", guard);
    return () => window.removeEventListener("beforeunload", guard);
  }, [onCall, ringing]);

  const myQueues = useMemo(() => agent?.queues ?? [], [agent]);
  const queueChoices: QueueChoice[] = useMemo(() => {
    const seen = new Map<string, string>();
    for (const q of live.snapshot?.queues ?? []) seen.set(q.queue_id, q.name);
    for (const q of myQueues) if (!seen.has(q.id)) seen.set(q.id, q.name);
    return [...seen].map(([id, name]) => ({ id, name }));
  }, [live.snapshot?.queues, myQueues]);

  // The offer as events announced it, or (after a reload while ringing) as the state says;
  // the screen pop, once loaded, tells whether it is a callback.
  const ringingOffer: Offer | null =
    offer ??
    (state === "reserved" && contactId
      ? { contact_id: contactId, queue: pop?.queue ?? null, callback: false }
      : null);
  // The number is the screen pop's (the feed never carries it): unknown until the pop is read.
  const popped = ringingOffer && pop?.id === ringingOffer.contact_id ? pop : null;
  const withCallback: Offer | null = ringingOffer && {
    ...ringingOffer,
    caller_number: popped ? popped.caller.number : undefined,
    callback: ringingOffer.callback || (popped?.callback ?? false),
  };
  // Events name the queue by id; show its name where this page knows it.
  const shownOffer: Offer | null = withCallback && {
    ...withCallback,
    queue: queueChoices.find((q) => q.id === withCallback.queue)?.name ?? withCallback.queue,
  };

  return (
    <main className="desk" aria-labelledby="desk-title">
      <h1 id="desk-title" className="visually-hidden">
        {t("desk.title")}
      </h1>
      <audio ref={audioRef} autoPlay hidden />
      <ErrorMessage error={error} onDismiss={() => setError(null)} />
      {shownOffer && state !== "busy" && (
        <OfferBanner offer={shownOffer} phone={phone} accepting={accepting} onAccept={accept} />
      )}
      <div className="desk-grid">
        <div className="desk-column">
          <StatePanel
            state={state}
            reason={reason}
            inState={inState}
            busy={changingState}
            reasonDraft={reasonDraft}
            onReasonDraft={setReasonDraft}
            onChoose={choose}
          />
          <SoftphonePanel
            phone={phone}
            status={phoneStatus}
            onCall={onCall}
            muted={muted}
            held={held}
            onPhone={changePhone}
            onConnect={() => void softphoneRef.current?.connect()}
            onMute={toggleMute}
            onHold={toggleHold}
            onHangup={hangup}
            onDigit={digit}
            onTransfer={() => setTransferOpen(true)}
          />
          {consulting && (
            <TransferProgress transfer={consulting} onAction={transferAction} />
          )}
          <section className="panel">
            <label className="check">
              <input
                type="checkbox"
                checked={autoAnswer}
                onChange={(e) => {
                  setAutoAnswer(e.target.checked);
                  saveText(AUTO_ANSWER_KEY, e.target.checked ? "1" : null);
                }}
              />
              {t("offer.autoAnswer")}
            </label>
            <button type="button" className="link" aria-expanded={helpOpen} onClick={() => setHelpOpen((o) => !o)}>
              {t("help.button")}
            </button>
            <HelpPopover open={helpOpen} onClose={closeHelp} />
          </section>
        </div>
        <div className="desk-column wide">
          {state === "wrap_up" && (
            <WrapUpPanel elapsed={inState} codes={options?.wrapup_codes ?? null} onFinish={finishWrapUp} />
          )}
          <ScreenPop pop={pop} />
          {pop && <ContactWork api={api} contactId={pop.id} />}
          {pop && <RequestPanel api={api} contactId={pop.id} />}
          {!pop && specialist && <RequestPanel api={api} contactId={null} />}
          {pop && (
            <section className="panel" aria-labelledby="notes-title">
              <h2 id="notes-title">{t("notes.label")}</h2>
              <textarea
                aria-labelledby="notes-title"
                aria-describedby="notes-hint"
                value={notes}
                onChange={(e) => changeNotes(e.target.value)}
                rows={5}
                maxLength={4000}
              />
              <p id="notes-hint" className="muted small">
                {t("notes.hint")}
              </p>
            </section>
          )}
        </div>
        <div className="desk-column">
          <section className="panel" aria-labelledby="queues-title">
            <h2 id="queues-title">{t("desk.queues")}</h2>
            {myQueues.length === 0 ? (
              <p className="muted">{t("desk.noQueues")}</p>
            ) : (
              <table>
                <thead>
                  <tr>
                    <th scope="col">{t("desk.queue")}</th>
                    <th scope="col">{t("desk.waiting")}</th>
                    <th scope="col">{t("desk.longestWait")}</th>
                  </tr>
                </thead>
                <tbody>
                  {myQueues.map((q) => {
                    const figures = live.snapshot?.queues.find((f) => f.queue_id === q.id);
                    const receivedAt = live.queueReceivedAt[q.id];
                    const waiting = figures?.waiting ?? q.waiting;
                    const longest = figures
                      ? figures.longest_wait_seconds + (waiting > 0 && receivedAt ? now - receivedAt : 0)
                      : q.longest_wait;
                    return (
                      <tr key={q.id}>
                        <th scope="row">{q.name}</th>
                        <td className="num">{waiting}</td>
                        <td className="num">{waiting > 0 ? formatDuration(longest) : "—"}</td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            )}
          </section>
          <section className="panel" aria-labelledby="today-title">
            <h2 id="today-title">{t("desk.today")}</h2>
            <dl className="facts">
              <div>
                <dt>{t("desk.answered")}</dt>
                <dd className="num">{agent?.today.answered ?? "—"}</dd>
              </div>
              <div>
                <dt>{t("desk.aht")}</dt>
                <dd className="num">{formatDuration(agent?.today.aht)}</dd>
              </div>
              <div>
                <dt>{t("desk.talk")}</dt>
                <dd className="num">{formatDuration(agent?.today.talk_seconds)}</dd>
              </div>
            </dl>
          </section>
        </div>
      </div>
      {transferOpen && (
        <TransferDialog
          targets={
            options?.transfer_targets ??
            queueChoices.map((q) => ({ target: `queue:${q.id}`, kind: "queue" as const, id: q.id, name: q.name }))
          }
          onTransfer={transfer}
          onClose={closeTransfer}
        />
      )}
    </main>
  );
}
