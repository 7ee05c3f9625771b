// PCMU first: the media worker then relays G.711 to G.711 callers without transcoding.

export interface CodecLike {
  mimeType: string;
  clockRate: number;
  channels?: number;
  sdpFmtpLine?: string;
}

/**
 * The codecs in the order to offer them: PCMU, then PCMA, then the rest in the browser's order
 * (telephone-event stays, so digits can go as RFC 4733 too). Pure, for setCodecPreferences.
 */
export function preferPcmu<T extends CodecLike>(codecs: readonly T[]): T[] {
  const rank = (c: T): number => {
    const mime = c.mimeType.toLowerCase();
    if (mime === "audio/pcmu") return 0;
    if (mime === "audio/pcma") return 1;
    return 2;
  };
  return codecs
    .map((codec, index) => ({ codec, index }))
    .sort((a, b) => rank(a.codec) - rank(b.codec) || a.index - b.index)
    .map((x) => x.codec);
}
