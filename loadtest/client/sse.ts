// Incremental server-sent-events framing: bytes in, the `data` of each complete event out. Handles events split
// across network chunks, several events in one chunk, CRLF line ends, multi-line data and comment lines.

export class SseDecoder {
  private readonly text = new TextDecoder();
  private buffered = '';

  /** The data fields of the events completed by `bytes`, in order. */
  push(bytes: Uint8Array): string[] {
    this.buffered += this.text.decode(bytes, { stream: true });
    return this.drain();
  }

  /** Whatever complete event remains at the end of the stream. */
  end(): string[] {
    this.buffered += `${this.text.decode()}\n\n`;
    return this.drain();
  }

  private drain(): string[] {
    const events: string[] = [];
    // A lone CR at the very end may be the first half of a CRLF split across chunks: leave it for later.
    this.buffered = this.buffered.replace(/\r\n|\r(?!$)/g, '\n');
    let end: number;
    while ((end = this.buffered.indexOf('\n\n')) >= 0) {
      const block = this.buffered.slice(0, end);
      this.buffered = this.buffered.slice(end + 2);
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('data:')) data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
      }
      if (data.length > 0) events.push(data.join('\n'));
    }
    return events;
  }
}
