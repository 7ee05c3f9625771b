// The agent's browser leg: one WebRTC connection to the media worker, opened when the desktop
// opens and kept while the page lives (offers are answered on it with POST /agent/offer/accept).
// No STUN/TURN (iceServers []): the browser and the server meet on the server's own address.
// The offer is sent whole once ICE gathering is done, since the contract has no trickle ICE.

import { DEFAULT_BACKOFF, reconnectDelay } from "../live/events";
import { preferPcmu } from "./codecs";

export type SoftphoneStatus = "idle" | "connecting" | "connected" | "mic_denied" | "failed";

export interface SoftphoneApi {
  softphoneOffer(sdp: string): Promise<{ sdp: string }>;
  softphoneClose(keepalive?: boolean): Promise<void>;
}

const GATHER_TIMEOUT_MS = 3000;
const DISCONNECTED_GRACE_MS = 4000;

function gathered(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      pc.removeEventListener("icegatheringstatechange", check);
      clearTimeout(timer);
      resolve();
    };
    const check = () => {
      if (pc.iceGatheringState === "complete") done();
    };
    const timer = setTimeout(done, GATHER_TIMEOUT_MS);
    pc.addEventListener("icegatheringstatechange", check);
  });
}

export class Softphone {
  private pc: RTCPeerConnection | null = null;
  private microphone: MediaStream | null = null;
  private status: SoftphoneStatus = "idle";
  private attempt = 0;
  private retry: ReturnType<typeof setTimeout> | null = null;
  private graceTimer: ReturnType<typeof setTimeout> | null = null;
  private wanted = false;
  private readonly api: SoftphoneApi;
  private readonly onStatus: (status: SoftphoneStatus) => void;
  private readonly audio: HTMLAudioElement;

  constructor(api: SoftphoneApi, audio: HTMLAudioElement, onStatus: (status: SoftphoneStatus) => void) {
    this.api = api;
    this.audio = audio;
    this.onStatus = onStatus;
  }

  get currentStatus(): SoftphoneStatus {
    return this.status;
  }

  /** Opens the leg (asking for the microphone once); retries by itself if it fails or drops. */
  async connect(): Promise<void> {
    this.wanted = true;
    if (this.pc) return;
    this.setStatus("connecting");
    try {
      this.microphone ??= await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
        video: false,
      });
    } catch {
      this.wanted = false;
      this.setStatus("mic_denied");
      return;
    }
    const pc = new RTCPeerConnection({ iceServers: [] });
    this.pc = pc;
    try {
      for (const track of this.microphone.getAudioTracks()) {
        const transceiver = pc.addTransceiver(track, { direction: "sendrecv", streams: [this.microphone] });
        const capabilities = RTCRtpReceiver.getCapabilities?.("audio");
        if (capabilities && typeof transceiver.setCodecPreferences === "function") {
          transceiver.setCodecPreferences(preferPcmu(capabilities.codecs));
        }
      }
      pc.addEventListener("track", (event) => {
        this.audio.srcObject = event.streams[0] ?? new MediaStream([event.track]);
        void this.audio.play().catch(() => undefined);
      });
      pc.addEventListener("connectionstatechange", () => this.watch(pc));
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc);
      const local = pc.localDescription;
      if (!local) throw new Error("no local description");
      const answer = await this.api.softphoneOffer(local.sdp);
      if (this.pc !== pc) return; // disconnected meanwhile
      await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    } catch {
      this.drop(pc);
      this.scheduleRetry();
    }
  }

  /** Closes the leg; `keepalive` lets the DELETE outlive a closing page. */
  disconnect(keepalive = false): void {
    this.wanted = false;
    this.clearTimers();
    const pc = this.pc;
    if (pc) {
      this.drop(pc);
      void this.api.softphoneClose(keepalive).catch(() => undefined);
    }
    for (const track of this.microphone?.getTracks() ?? []) track.stop();
    this.microphone = null;
    this.setStatus("idle");
  }

  /** Stops or restarts sending the microphone: mute is the page's own, no server call. */
  setMicrophone(enabled: boolean): void {
    for (const track of this.microphone?.getAudioTracks() ?? []) track.enabled = enabled;
  }

  /** What WebRTC measures of the leg: for the tests and a diagnostics view. */
  async stats(): Promise<RTCStatsReport | null> {
    return this.pc ? this.pc.getStats() : null;
  }

  private watch(pc: RTCPeerConnection): void {
    if (this.pc !== pc) return;
    const state = pc.connectionState;
    if (state === "connected") {
      this.attempt = 0;
      if (this.graceTimer) clearTimeout(this.graceTimer);
      this.graceTimer = null;
      this.setStatus("connected");
    } else if (state === "failed" || state === "closed") {
      this.drop(pc);
      this.scheduleRetry();
    } else if (state === "disconnected" && !this.graceTimer) {
      // ICE often recovers from a short blip by itself; give it a moment before starting anew.
      this.graceTimer = setTimeout(() => {
        this.graceTimer = null;
        if (this.pc === pc && pc.connectionState !== "connected") {
          this.drop(pc);
          this.scheduleRetry();
        }
      }, DISCONNECTED_GRACE_MS);
    }
  }

  private drop(pc: RTCPeerConnection): void {
    if (this.pc === pc) this.pc = null;
    pc.close();
  }

  private scheduleRetry(): void {
    if (!this.wanted) return;
    this.setStatus("failed");
    const delay = reconnectDelay(this.attempt, DEFAULT_BACKOFF, Math.random);
    this.attempt += 1;
    if (this.retry) clearTimeout(this.retry);
    this.retry = setTimeout(() => {
      this.retry = null;
      if (this.wanted) void this.connect();
    }, delay);
  }

  private clearTimers(): void {
    if (this.retry) clearTimeout(this.retry);
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.retry = null;
    this.graceTimer = null;
  }

  private setStatus(status: SoftphoneStatus): void {
    if (status === this.status) return;
    this.status = status;
    this.onStatus(status);
  }
}
