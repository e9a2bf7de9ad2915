import MeltWatchConfig
import MeltWatchCore
import MeltWatchDecode

/// libFuzzer's entry point: the input is the text of a config file (contract section 2), loaded
/// as `meltwatch check` and `run` load it. The loader must return a config that satisfies the
/// contract's rules, or a located error: one or more `FILE:LINE:COL: message` lines that point
/// into the file.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    do {
        let config = try ConfigLoader.parse(bytes: bytes, file: fileName, baseDirectory: baseDirectory)
        checkAccepted(config)
    } catch {
        checkRejected(error, bytes)
    }
    return 0
}

private let fileName = "fuzz.yaml"
/// Relative `*_file` paths resolve here: a folder that does not exist, so they are all unreadable.
private let baseDirectory = "/nonexistent/meltwatch-fuzz"

private func checkRejected(_ error: ConfigError, _ bytes: [UInt8]) {
    require(!error.diagnostics.isEmpty, "a ConfigError without diagnostics")
    // Line breaks as YAML counts them (LF, CR LF, a lone CR, NEL, LS, PS), one more for a last line
    // without a break, and one more where a diagnostic points just past the end of the text.
    let lines = lineBreaks(bytes) + 2
    for d in error.diagnostics {
        require(d.file == fileName, "diagnostic names file \(d.file)")
        require(d.line >= 1 && d.line <= lines, "diagnostic at line \(d.line) of a \(lines - 2)-line file: \(d)")
        require(d.column >= 1, "diagnostic at column \(d.column): \(d)")
        require(!d.message.isEmpty, "diagnostic without a message at \(d.line):\(d.column)")
        require(!d.description.unicodeScalars.contains { [0x0A, 0x0B, 0x0C, 0x0D, 0x85, 0x2028, 0x2029].contains($0.value) },
                "diagnostic spans lines: \(d.description)")
    }
}

/// What `meltwatch check` promises about a config it accepts.
private func checkAccepted(_ config: MeltWatchConfig) {
    require((0...2).contains(config.broker.qos), "accepted qos \(config.broker.qos)")
    require((1...65_535).contains(config.broker.port), "accepted broker port \(config.broker.port)")
    // Port 0 is allowed on purpose: the OS picks a free port (the end-to-end tests use it).
    require((0...65_535).contains(config.duty.listenPort), "accepted duty port \(config.duty.listenPort)")
    var plantIDs: Set<String> = []
    for plant in config.plants {
        require(isIdentifier(plant.id), "accepted plant id '\(plant.id)'")
        require(plantIDs.insert(plant.id).inserted, "accepted plant id '\(plant.id)' twice")
        var equipmentIDs: Set<String> = []
        for e in plant.equipment {
            require(isIdentifier(e.id), "accepted equipment id '\(e.id)'")
            require(equipmentIDs.insert(e.id).inserted, "accepted equipment id '\(e.id)' twice in plant \(plant.id)")
            for role in e.signals.keys {
                require(e.template.roles.contains { $0.name == role }, "accepted an override for unknown role '\(role)'")
            }
            for name in e.params.keys {
                require(e.template.params.contains { $0.name == name }, "accepted unknown param '\(name)'")
            }
        }
    }
    // Every topic of MeltWatch's own JSON is one the broker accepts for a subscription without
    // wildcards, and no two signals share one (the decoder's topic table would refuse to start);
    // every gateway's filter is a valid MQTT filter that overlaps neither another nor those topics.
    let topics = config.signals.compactMap(\.topic) + config.equipmentTopics.map(\.topic)
    require(Set(topics).count == topics.count, "accepted a config where two signals share a topic")
    for t in topics {
        require(!t.isEmpty && !t.contains("+") && !t.contains("#") && !t.contains("\0"), "accepted topic '\(t)'")
    }
    var filters: [TopicFilter] = []
    for g in config.plants.flatMap(\.gateways) {
        guard let f = TopicFilter(g.filter) else { fail("accepted gateway filter '\(g.filter)'") }
        require(!filters.contains { $0.overlaps(f) }, "accepted overlapping gateway filters, '\(g.filter)' among them")
        require(!topics.contains { f.matches($0) }, "accepted gateway filter '\(g.filter)' over a topic of MeltWatch's own JSON")
        filters.append(f)
    }
    // What the daemon and replay build at start from an accepted config must build: the topic
    // table (Daemon.swift, Replay.swift), each plant's tag table, and the engine's model.
    var table = TopicTable()
    do {
        for s in config.signals { if let topic = s.topic { try table.addSignal(topic: topic, signal: s.id) } }
        for e in config.equipmentTopics { try table.addEquipment(topic: e.topic, roles: e.roles) }
        for plant in config.plants {
            var tags = TagTable()
            for s in config.signals where s.plant == plant.id {
                if case .tag(let tag) = s.source { try tags.add(tag: tag, signal: s.id) }
            }
        }
    } catch {
        fail("an accepted config does not start: \(error)")
    }
    _ = config.engineModel(configHash: "sha256:fuzz")
}

private func lineBreaks(_ b: [UInt8]) -> Int {
    var n = 0
    for i in b.indices {
        switch b[i] {
        case 0x0A: n += 1
        case 0x0D where i + 1 == b.count || b[i + 1] != 0x0A: n += 1
        case 0xC2 where i + 1 < b.count && b[i + 1] == 0x85: n += 1
        case 0xE2 where i + 2 < b.count && b[i + 1] == 0x80 && (b[i + 2] == 0xA8 || b[i + 2] == 0xA9): n += 1
        default: break
        }
    }
    return n
}

private func isIdentifier(_ s: String) -> Bool {
    !s.isEmpty && s.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
}

private func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fail(message()) }
}

private func fail(_ message: String) -> Never {
    fatalError("fuzz-config invariant: \(message)")
}
