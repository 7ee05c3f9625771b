// Sounds made in the page with WebAudio (no audio files to fetch): the ring of an incoming offer
// and a short key tone for the keypad. Browsers keep an AudioContext silent until the user has
// interacted with the page, so `unlock` is called from the first click or key press.

/** DTMF frequency pairs (Hz), row and column, for the keypad's feedback tone. */
export const DTMF: Record<string, [number, number]> = {
  "1": [697, 1209], "2": [697, 1336], "3": [697, 1477],
  "4": [770, 1209], "5": [770, 1336], "6": [770, 1477],
  "7": [852, 1209], "8": [852, 1336], "9": [852, 1477],
  "*": [941, 1209], "0": [941, 1336], "#": [941, 1477],
};

const RING_PERIOD_S = 3;
/** How far ahead the ring is scheduled on the audio clock, which background tabs do not slow. */
const RING_AHEAD_S = 120;

export class Tones {
  private context: AudioContext | null = null;
  private ring: GainNode | null = null;

  private ctx(): AudioContext | null {
    if (typeof AudioContext === "undefined") return null;
    this.context ??= new AudioContext();
    return this.context;
  }

  unlock(): void {
    const ctx = this.ctx();
    if (ctx && ctx.state === "suspended") void ctx.resume().catch(() => undefined);
  }

  get ringing(): boolean {
    return this.ring !== null;
  }

  /**
   * Rings until `stopRing` (or two minutes, longer than any offer rings): two short bursts of
   * 480+620 Hz every three seconds, all scheduled at once on the audio clock, since timers in a
   * background tab may fire only once a minute.
   */
  startRing(): void {
    const ctx = this.ctx();
    if (!ctx || this.ring) return;
    const ring = ctx.createGain();
    ring.connect(ctx.destination);
    this.ring = ring;
    const start = ctx.currentTime + 0.05;
    for (let t = 0; t < RING_AHEAD_S; t += RING_PERIOD_S) {
      this.play([480, 620], start + t, 0.4, 0.18, ring);
      this.play([480, 620], start + t + 0.6, 0.4, 0.18, ring);
    }
  }

  stopRing(): void {
    this.ring?.disconnect();
    this.ring = null;
  }

  key(digit: string): void {
    const pair = DTMF[digit];
    const ctx = this.ctx();
    if (pair && ctx) this.play(pair, ctx.currentTime, 0.12, 0.12, ctx.destination);
  }

  private play(frequencies: number[], start: number, duration: number, volume: number, out: AudioNode): void {
    const ctx = this.ctx();
    if (!ctx) return;
    const gain = ctx.createGain();
    gain.gain.setValueAtTime(0, start);
    gain.gain.linearRampToValueAtTime(volume, start + 0.01);
    gain.gain.setValueAtTime(volume, start + duration - 0.02);
    gain.gain.linearRampToValueAtTime(0, start + duration);
    gain.connect(out);
    for (const frequency of frequencies) {
      const osc = ctx.createOscillator();
      osc.frequency.value = frequency;
      osc.connect(gain);
      osc.start(start);
      osc.stop(start + duration);
    }
  }
}
