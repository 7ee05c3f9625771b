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

const RING_PERIOD_MS = 3000;

export class Tones {
  private context: AudioContext | null = null;
  private ringTimer: ReturnType<typeof setInterval> | null = null;

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
    return this.ringTimer !== null;
  }

  /** Rings until `stopRing`: two short bursts of 480+620 Hz every three seconds. */
  startRing(): void {
    if (this.ringTimer) return;
    const burst = () => {
      this.play([480, 620], 0, 0.4, 0.18);
      this.play([480, 620], 0.6, 0.4, 0.18);
    };
    burst();
    this.ringTimer = setInterval(burst, RING_PERIOD_MS);
  }

  stopRing(): void {
    if (this.ringTimer) clearInterval(this.ringTimer);
    this.ringTimer = null;
  }

  key(digit: string): void {
    const pair = DTMF[digit];
    if (pair) this.play(pair, 0, 0.12, 0.12);
  }

  private play(frequencies: number[], delay: number, duration: number, volume: number): void {
    const ctx = this.ctx();
    if (!ctx) return;
    const start = ctx.currentTime + delay;
    const gain = ctx.createGain();
    gain.gain.setValueAtTime(0, start);
    gain.gain.linearRampToValueAtTime(volume, start + 0.01);
    gain.gain.setValueAtTime(volume, start + duration - 0.02);
    gain.gain.linearRampToValueAtTime(0, start + duration);
    gain.connect(ctx.destination);
    for (const frequency of frequencies) {
      const osc = ctx.createOscillator();
      osc.frequency.value = frequency;
      osc.connect(gain);
      osc.start(start);
      osc.stop(start + duration);
    }
  }
}
