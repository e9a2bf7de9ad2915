import HTTPTypes
import Hummingbird
import MeltWatchAlarms
import MeltWatchCore
import NIOCore

/// `GET /api/events`: the stored alarm events as Server-Sent Events.
///
/// Each event is `id: <sequence>` / `event: alarm` / `data: <contract JSON>`; the browser's
/// EventSource sends the last id back as `Last-Event-ID` when it reconnects and the stream resumes
/// right after it, so a console that lost its connection misses nothing the log still holds (the
/// latest ``EventLog/retained`` events; older ones, or ones a stalled client fell behind, are
/// announced as `event: gap` with `missed_before`). Without it, the stream starts with the next event. An
/// `event: heartbeat` every period lets the client tell a quiet stream from a dead one.
enum EventStream {
    static func response(log: EventLog, resumeAfter: Int64?, heartbeat: Duration) -> Response {
        let headers: HTTPFields = [
            .contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-cache",
            HTTPField.Name("X-Accel-Buffering")!: "no",
        ]
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            let (bell, doorbell) = log.subscribe()
            defer { log.unsubscribe(bell) }
            var bells = doorbell.makeAsyncIterator()
            var cursor = resumeAfter ?? log.lastSequence
            try await writer.write(ByteBuffer(string: "retry: 2000\n\n"))
            var lastWrite = ContinuousClock.now
            while !Task.isCancelled {
                let (batch, first) = log.recent(after: cursor)
                if let first, cursor + 1 < first {
                    // This client fell behind what memory holds (a stalled console): memory is not
                    // held for it. Say what it missed and go on from what is held.
                    try await writer.write(ByteBuffer(string: "event: gap\ndata: {\"missed_before\":\(first)}\n\n"))
                    cursor = first - 1
                    continue
                }
                if !batch.isEmpty {
                    var text = ""
                    for s in batch { text += "id: \(s.sequence)\nevent: alarm\ndata: \(s.envelope.body)\n\n" }
                    try await writer.write(ByteBuffer(string: text))
                    cursor = batch.last!.sequence
                    lastWrite = .now
                    continue
                }
                // The daemon is stopping: everything stored was sent above; end so shutdown can finish.
                if log.streamsHaveEnded { break }
                if ContinuousClock.now - lastWrite >= heartbeat {
                    // A write to a closed connection throws: this is also how a gone client is noticed.
                    try await writer.write(ByteBuffer(string: "event: heartbeat\ndata: {\"time\":\"\(WallClock.now.rfc3339)\"}\n\n"))
                    lastWrite = .now
                }
                // The log rings on every append, and the delivery service rings it every second.
                guard await bells.next() != nil else { break }
            }
            try await writer.finish(nil)
        })
    }
}
