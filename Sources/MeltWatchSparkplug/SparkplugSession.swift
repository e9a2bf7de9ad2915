import MeltWatchCore

/// What a birth declared about one metric.
struct MetricDefinition: Equatable {
    var name: String
    /// The Sparkplug DataType number as the birth gave it (0 when it gave none).
    var datatype: UInt32
    var alias: UInt64?
    /// The signal bound to this metric, resolved from the host's bindings when the birth (or a
    /// restored state) was taken in. Not part of the encoded state: bindings change on a reload.
    var signal: SignalID?
}

/// The metrics one birth declared: an edge node's own (NBIRTH) or one device's (DBIRTH).
struct MetricScope: Equatable {
    var metrics: [MetricDefinition] = []
    /// Index into `metrics` by name, for DATA that names a metric instead of giving its alias.
    var byName: [String: Int] = [:]
    /// Bytes of all names, for the host's memory bound.
    var nameBytes = 0

    /// Aliases this scope declared.
    var aliases: some Sequence<UInt64> { metrics.lazy.compactMap(\.alias) }
}

/// Where an alias points: a metric of the node itself (`device` nil) or of one device.
struct AliasTarget: Equatable {
    var device: String?
    var index: Int
}

/// One edge node's session, from its NBIRTH to its NDEATH (or the next NBIRTH).
///
/// A class: the host mutates sessions in place inside its node table, and a struct there would be
/// copied on the first mutation through the dictionary's optional. Owned by one host, which is
/// owned by one thread (see ``GatewayFormat``).
final class NodeSession {
    /// The NBIRTH's `bdSeq` metric: only an NDEATH carrying the same ends this session. nil when the
    /// birth had none (a non-conforming edge node): then any NDEATH does.
    var bdSeq: UInt64?
    var sequence: SequenceTracker
    var node: MetricScope
    /// Devices with a current DBIRTH (no DDEATH since).
    var devices: [String: MetricScope] = [:]
    /// Every alias of the node and its devices: Sparkplug makes them unique across all of them.
    var aliases: [UInt64: AliasTarget] = [:]

    init(bdSeq: UInt64?, sequence: SequenceTracker, node: MetricScope) {
        self.bdSeq = bdSeq
        self.sequence = sequence
        self.node = node
        for (i, m) in node.metrics.enumerated() {
            if let a = m.alias { aliases[a] = AliasTarget(device: nil, index: i) }
        }
    }

    /// Metric definitions held, for the host's memory bound.
    var metricCount: Int { devices.values.reduce(node.metrics.count) { $0 + $1.metrics.count } }
    /// Name bytes held, for the host's memory bound.
    var nameBytes: Int { devices.values.reduce(node.nameBytes) { $0 + $1.nameBytes } }

    /// The scope a message addresses: the node's own metrics, or a live device's.
    func scope(device: String?) -> MetricScope? {
        guard let device else { return node }
        return devices[device]
    }

    /// Replaces (or adds) a device's birth, moving its aliases.
    func setDevice(_ name: String, _ scope: MetricScope) {
        removeDevice(name)
        for (i, m) in scope.metrics.enumerated() {
            if let a = m.alias { aliases[a] = AliasTarget(device: name, index: i) }
        }
        devices[name] = scope
    }

    /// Forgets a device (DDEATH, or a DBIRTH that was rejected) and its aliases.
    func removeDevice(_ name: String) {
        guard let old = devices.removeValue(forKey: name) else { return }
        for a in old.aliases where aliases[a]?.device == name { aliases[a] = nil }
    }
}

/// 256 bits: a set of Sparkplug sequence numbers.
struct SequenceSet: Equatable {
    private var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    init() {}

    var isEmpty: Bool { words.0 | words.1 | words.2 | words.3 == 0 }

    func contains(_ s: UInt8) -> Bool { word(s >> 6) & (1 << UInt64(s & 63)) != 0 }

    mutating func insert(_ s: UInt8) { setWord(s >> 6, word(s >> 6) | (1 << UInt64(s & 63))) }

    mutating func remove(_ s: UInt8) { setWord(s >> 6, word(s >> 6) & ~(1 << UInt64(s & 63))) }

    /// The members in ascending order.
    var members: [UInt8] { (0...255).lazy.map(UInt8.init).filter(contains) }

    private func word(_ i: UInt8) -> UInt64 {
        switch i {
        case 0: words.0
        case 1: words.1
        case 2: words.2
        default: words.3
        }
    }

    private mutating func setWord(_ i: UInt8, _ w: UInt64) {
        switch i {
        case 0: words.0 = w
        case 1: words.1 = w
        case 2: words.2 = w
        default: words.3 = w
        }
    }

    static func == (a: SequenceSet, b: SequenceSet) -> Bool {
        a.words.0 == b.words.0 && a.words.1 == b.words.1 && a.words.2 == b.words.2 && a.words.3 == b.words.3
    }
}

/// An edge node's `seq` (0–255, wrapping) across NBIRTH, DBIRTH, NDATA, DDATA and DDEATH.
///
/// It never holds a message back: readings are decoded as they come, in whatever order (a safety
/// monitor must not delay an alarm, and the engine orders readings by event time anyway). It only
/// notes *that* the stream is incomplete or out of order, and since when; the host's timer turns a
/// note older than the reorder timeout into a rebirth request. So readings depend on the messages
/// alone, and timers only on what the host asks of the edge node.
struct SequenceTracker: Equatable {
    /// The highest seq seen, in the wrapping sense.
    var last: UInt8
    /// Numbers skipped over by a later message and not yet arrived (a reordering may still fill them).
    var missing = SequenceSet()
    /// A message arrived that no reordering explains (a repeat, one far behind, or none or a seq
    /// beyond 255): only a new birth clears this.
    var disorder = false
    /// When the stream first became incomplete (nil: it is complete).
    var gapSince: EventTime?

    /// The tracker right after an NBIRTH (whose seq should be 0; another number is taken as the
    /// start so that a non-conforming edge node does not look broken forever after).
    init(birthSeq: UInt64?) {
        last = birthSeq.flatMap { $0 <= 255 ? UInt8($0) : nil } ?? 0
    }

    init(last: UInt8, missing: SequenceSet, disorder: Bool, gapSince: EventTime?) {
        self.last = last
        self.missing = missing
        self.disorder = disorder
        self.gapSince = gapSince
    }

    /// Whether a gap is pending.
    var hasGap: Bool { gapSince != nil }

    /// Takes one message's seq (nil: the message had none).
    mutating func observe(_ seq: UInt64?, now: EventTime) {
        guard let seq, seq <= 255 else {
            disorder = true
            if gapSince == nil { gapSince = now }
            return
        }
        let s = UInt8(seq)
        let expected = last &+ 1
        if s == expected {
            last = s
            // After 256 more messages the number comes round again: an old miss is moot.
            missing.remove(s)
        } else if missing.contains(s) {
            missing.remove(s) // a late message of a reordering: the gap shrinks
        } else {
            let ahead = s &- expected // 1...255 in the wrapping sense
            if ahead < 128 {
                // Messages skipped: note them; they may still come (reordered by a bridge).
                var k = expected
                while k != s {
                    missing.insert(k)
                    k &+= 1
                }
                last = s
            } else {
                // Behind the last seen and not missing: a repeat or a stray from long ago.
                disorder = true
            }
        }
        if missing.isEmpty && !disorder {
            gapSince = nil
        } else if gapSince == nil {
            gapSince = now
        }
    }
}

/// An edge node as the host knows it: its session (nil before an NBIRTH, after an NDEATH, or after
/// a birth the host had to reject) and when it last asked it for a rebirth.
struct NodeEntry {
    var session: NodeSession?
    var lastRebirthRequest: EventTime?
}
