import MeltWatchCore
import MeltWatchDecode

/// One metric as a birth (or a restored state) declares it.
struct MetricDeclaration {
    var name: String
    var alias: UInt64?
    var datatype: UInt32
}

extension SparkplugHost {
    /// NBIRTH: a new session for the edge node, replacing any previous one and its devices. Its
    /// metric values are current values and are read like DATA.
    ///
    /// A birth the host cannot take in whole (malformed, oversize, an alias collision, a wrong
    /// type) still tells it that the edge node started over, with aliases it does not know: the old
    /// session is dropped (its aliases may now mean other metrics) and a rebirth is requested.
    func nodeBirth(
        edge: String, _ message: Result<SparkplugWirePayload, DecodeError>, now: EventTime,
        into out: inout [Reading], effects: inout GatewayEffects
    ) -> Result<DecodeOutcome, DecodeError> {
        guard makeRoom(for: edge) else { return .failure(tooManyNodes(edge)) }
        do throws(DecodeError) {
            let p = try message.get()
            let time = try payloadTime(p, now: now)
            try checkBirthSize(p, what: "NBIRTH of \(logQuoted(edge))")
            let scope = try buildScope(
                try Self.declarations(p), edge: edge, device: nil,
                aliasOwner: { _ in nil }, where: "NBIRTH of \(logQuoted(edge))"
            )
            let old = nodes[edge]?.session
            try checkBudget(adding: scope, removingMetrics: old?.metricCount ?? 0, removingNameBytes: old?.nameBytes ?? 0)
            var outcome = DecodeOutcome(readings: 0)
            for (m, definition) in zip(p.metrics, scope.metrics) {
                try read(m, as: definition, defaultTime: time, now: now, into: &out, outcome: &outcome)
            }
            let session = NodeSession(
                bdSeq: Self.bdSeq(in: p), sequence: SequenceTracker(birthSeq: p.seq), node: scope
            )
            install(session, edge: edge)
            return .success(outcome)
        } catch {
            dropSession(edge: edge)
            requestRebirth(edge: edge, now: now, effects: &effects)
            return .failure(error)
        }
    }

    /// DBIRTH: a device's metrics within the node's session (replacing the device's previous birth).
    /// A rejected DBIRTH drops what the host knew of the device and asks for a rebirth.
    func deviceBirth(
        edge: String, device: String, _ message: Result<SparkplugWirePayload, DecodeError>, now: EventTime,
        into out: inout [Reading], effects: inout GatewayEffects
    ) -> Result<DecodeOutcome, DecodeError> {
        guard let session = nodes[edge]?.session else {
            return noBirth(edge: edge, "DBIRTH of device \(logQuoted(device)) before an NBIRTH of edge node \(logQuoted(edge))", now: now, effects: &effects)
        }
        let what = "DBIRTH of \(logQuoted(edge + "/" + device))"
        do throws(DecodeError) {
            let p = try message.get()
            session.sequence.observe(p.seq, now: now)
            let time = try payloadTime(p, now: now)
            try checkBirthSize(p, what: what)
            let old = session.devices[device]
            guard old != nil || session.devices.count < limits.devicesPerNode else {
                throw DecodeError(reason: .oversize, detail: "\(what): one more than the \(limits.devicesPerNode) devices held per edge node")
            }
            // An alias this device declared before is its own to declare again; the node's and
            // other devices' are not.
            let scope = try buildScope(
                try Self.declarations(p), edge: edge, device: device,
                aliasOwner: { a in session.aliases[a].flatMap { $0.device == device ? nil : ($0.device ?? "the node") } },
                where: what
            )
            try checkBudget(adding: scope, removingMetrics: old?.metrics.count ?? 0, removingNameBytes: old?.nameBytes ?? 0)
            var outcome = DecodeOutcome(readings: 0)
            for (m, definition) in zip(p.metrics, scope.metrics) {
                try read(m, as: definition, defaultTime: time, now: now, into: &out, outcome: &outcome)
            }
            setDevice(device, scope, in: session)
            return .success(outcome)
        } catch {
            removeDevice(device, from: session)
            requestRebirth(edge: edge, now: now, effects: &effects)
            return .failure(error)
        }
    }

    /// A birth must name every metric.
    static func declarations(_ p: SparkplugWirePayload) throws(DecodeError) -> [MetricDeclaration] {
        var out: [MetricDeclaration] = []
        out.reserveCapacity(p.metricCount)
        for (i, m) in p.metrics.enumerated() {
            guard let name = m.name else {
                throw DecodeError(reason: .missingField, detail: "birth metric #\(i) has no name")
            }
            out.append(MetricDeclaration(name: String(decoding: name, as: UTF8.self), alias: m.alias, datatype: m.datatype ?? 0))
        }
        return out
    }

    func checkBirthSize(_ p: SparkplugWirePayload, what: String) throws(DecodeError) {
        guard p.metricCount <= limits.metricsPerBirth else {
            throw DecodeError(reason: .oversize, detail: "\(what) declares \(p.metricCount) metrics, more than \(limits.metricsPerBirth)")
        }
    }

    /// Whether the sessions may hold `scope` in place of what it replaces.
    func checkBudget(adding scope: MetricScope, removingMetrics: Int, removingNameBytes: Int) throws(DecodeError) {
        let metrics = heldMetrics - removingMetrics + scope.metrics.count
        let bytes = heldNameBytes - removingNameBytes + scope.nameBytes
        guard metrics <= limits.metricsTotal, bytes <= limits.nameBytesTotal else {
            throw DecodeError(
                reason: .oversize,
                detail: "birth would make \(metrics) metrics (\(bytes) name bytes) held, more than \(limits.metricsTotal) (\(limits.nameBytesTotal))"
            )
        }
    }

    /// A birth's metrics as a scope: names unique within it, aliases unique within it and not
    /// owned by another part of the node (`aliasOwner` names the owner, nil: free). The bound
    /// signals are resolved here, once per birth, so DATA reads by alias without a name lookup.
    func buildScope(
        _ declarations: [MetricDeclaration], edge: String, device: String?,
        aliasOwner: (UInt64) -> String?, where what: @autoclosure () -> String
    ) throws(DecodeError) -> MetricScope {
        var scope = MetricScope()
        scope.metrics.reserveCapacity(declarations.count)
        var seen: Set<UInt64> = []
        for d in declarations {
            guard scope.byName.updateValue(scope.metrics.count, forKey: d.name) == nil else {
                throw DecodeError(reason: .aliasCollision, detail: "\(what()) declares metric \(logQuoted(d.name)) twice")
            }
            if let a = d.alias {
                guard seen.insert(a).inserted else {
                    throw DecodeError(reason: .aliasCollision, detail: "\(what()) declares alias \(a) twice")
                }
                if let owner = aliasOwner(a) {
                    throw DecodeError(reason: .aliasCollision, detail: "\(what()) declares alias \(a), already used by \(logQuoted(owner))")
                }
            }
            scope.metrics.append(MetricDefinition(
                name: d.name, datatype: d.datatype, alias: d.alias,
                signal: bindings[BindingKey(edge: edge, device: device, metric: d.name)]
            ))
            scope.nameBytes += d.name.utf8.count
        }
        return scope
    }

    /// The `bdSeq` metric of an NBIRTH or NDEATH (by name: death certificates carry no aliases),
    /// as UInt64 from whichever integer field carries it.
    static func bdSeq(in p: SparkplugWirePayload) -> UInt64? {
        for m in p.metrics {
            guard let name = m.name, sameName(name, SparkplugPayloads.bdSeqMetric) else { continue }
            switch m.value {
            case .longValue(let v)?: return v
            case .intValue(let v)?: return UInt64(v)
            default: return nil
            }
        }
        return nil
    }
}
