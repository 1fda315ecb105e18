import XCTest

@testable import Training
@testable import Wire

final class CodecTests: XCTestCase {
  let attempt = AttemptID(trial: 42, attempt: 2)

  func testEveryMessageRoundTrips() throws {
    var spec = TrialSpec()
    spec.seed = UInt64.max - 12_345  // beyond 2^53: must survive JSON exactly
    spec.optimizer = OptimizerSpec(
      name: "adam_hd", hyperparameters: ["lr": .number(3e-4), "hypergrad_scope": .word("parameter")])
    spec.schedule = ScheduleSpec(kind: .reduceOnPlateau, settings: ["factor": .number(0.5)])
    let workerMessages: [WorkerMessage] = [
      .ready(Ready(worker: "box-1", host: "box", slots: 4, version: "0.1.0", running: [attempt])),
      .heartbeat,
      .metric(
        MetricReport(attempt: attempt, epoch: 3, values: ["val_loss": 0.25, "lr": 1e-3, "train_loss": .nan])),
      .done(DoneReport(attempt: attempt, status: .diverged, epochs: 5, divergedEpoch: 5, seconds: 1.5)),
      .done(DoneReport(attempt: attempt, status: .failed, epochs: 0, seconds: 0, message: "no such file")),
      .handBack([attempt, AttemptID(trial: 7, attempt: 1)]),
      .bye,
    ]
    for message in workerMessages {
      let decoded = try WireCodec.decodeWorkerMessage(WireCodec.encode(message)).get()
      if case .metric(let a) = message, case .metric(let b) = decoded {
        // NaN never equals itself: compare the rest and the NaN-ness.
        XCTAssertEqual(a.attempt, b.attempt)
        XCTAssertEqual(a.values["val_loss"], b.values["val_loss"])
        XCTAssertTrue(b.values["train_loss"]!.isNaN)
      } else {
        XCTAssertEqual(decoded, message)
      }
    }
    let specJSON = try WireCodec.encoder().encode(spec)
    let coordinatorMessages: [CoordinatorMessage] = [
      .assign(Assignment(attempt: attempt, sweep: "s-1", spec: SpecJSON(Array(specJSON)))),
      .stop(StopOrder(attempt: attempt, reason: "cancelled")),
      .acknowledge(attempt), .heartbeat, .disconnect("protocol error"),
    ]
    for message in coordinatorMessages {
      XCTAssertEqual(try WireCodec.decodeCoordinatorMessage(WireCodec.encode(message)).get(), message)
    }
    // ASSIGN written from the stored spec JSON decodes to the same assignment, and the spec
    // bytes come out unchanged, decoding (on the worker) to the same spec.
    let spliced = WireCodec.encodeAssignment(
      attempt: attempt, sweep: "s \"quoted\"", specJSON: Array(specJSON))
    XCTAssertEqual(
      try WireCodec.decodeCoordinatorMessage(spliced).get(),
      .assign(Assignment(attempt: attempt, sweep: "s \"quoted\"", spec: SpecJSON(Array(specJSON)))))
    guard case .assign(let assignment) = try WireCodec.decodeCoordinatorMessage(spliced).get() else {
      return XCTFail("not an ASSIGN")
    }
    XCTAssertEqual(try WireCodec.decoder().decode(TrialSpec.self, from: Data(assignment.spec.bytes)), spec)
    let prompt = WireCodec.encodeAssignment(
      attempt: attempt, sweep: "s-1", specJSON: Array(specJSON), promptMetrics: true)
    XCTAssertEqual(
      try WireCodec.decodeCoordinatorMessage(prompt).get(),
      .assign(
        Assignment(attempt: attempt, sweep: "s-1", spec: SpecJSON(Array(specJSON)), promptMetrics: true)))
    let requests: [ClientRequest] = [
      .submit(SubmitRequest(file: "s.yaml", text: "method: grid\n")), .status(sweep: nil),
      .status(sweep: "s-1"),
      .leaderboard(LeaderboardRequest(sweep: "s-1", top: 5, groupBy: "optimizer")), .cancel(sweep: "s-1"),
      .history(sweep: "s-1"),
      .submit(
        SubmitRequest(file: "s.yaml", text: "x", data: ["train.csv": String(repeating: "ab", count: 32)])),
      .haveData(HaveDataRequest(digests: [String(repeating: "0f", count: 32)])),
      .upload(
        UploadChunk(sha256: String(repeating: "a", count: 64), size: 5, offset: 2, bytes: [0, 255, 7])),
      .fetch(FetchRequest(sha256: String(repeating: "c", count: 64), offset: 1 << 20, length: 1 << 20)),
    ]
    for request in requests {
      XCTAssertEqual(try WireCodec.decodeClientRequest(WireCodec.encode(request)).get(), request)
    }
    for reply in [
      ClientReply.ok(json: Array(#"{"a":[1,2]}"#.utf8)), .error("unknown sweep 's-9'"), .data([0, 1, 255]),
      .data([]),
    ] {
      XCTAssertEqual(try WireCodec.decodeClientReply(WireCodec.encode(reply)).get(), reply)
    }
    // A result travels as the body itself; an error under its own command.
    XCTAssertEqual(
      WireCodec.encode(ClientReply.ok(json: Array("[1]".utf8))).map { String(decoding: $0, as: UTF8.self) },
      ["SWP1", "REPLY", "[1]"])
    XCTAssertEqual(WireCodec.encode(ClientReply.error("x"))[1], Array("ERROR".utf8))
    // Data chunks: raw bytes down, base64 up.
    XCTAssertEqual(WireCodec.encode(ClientReply.data([1, 2]))[2], [1, 2])
    XCTAssertEqual(UploadChunk(sha256: "", size: 3, offset: 0, bytes: [1, 2, 3]).data, "AQID")
  }

  func testDataRequestsWithBadDigestsOrRangesAreRefused() {
    let good = String(repeating: "a", count: 64)
    let bad: [ClientRequest] = [
      .haveData(HaveDataRequest(digests: ["not-a-digest"])),
      .haveData(HaveDataRequest(digests: [good.uppercased()])),
      .upload(UploadChunk(sha256: "abc", size: 1, offset: 0, bytes: [1])),
      .upload(UploadChunk(sha256: good, size: -1, offset: 0, bytes: [1])),
      .fetch(FetchRequest(sha256: good, offset: -5, length: 10)),
      .fetch(FetchRequest(sha256: good, offset: 0, length: 0)),
      .fetch(FetchRequest(sha256: good, offset: 0, length: Protocol.maximumFetchBytes + 1)),
      .fetch(FetchRequest(sha256: "../../etc/passwd", offset: 0, length: 10)),
    ]
    for request in bad {
      guard case .failure(.invalid) = WireCodec.decodeClientRequest(WireCodec.encode(request)) else {
        return XCTFail("accepted \(request)")
      }
    }
    var chunk = UploadChunk(sha256: good, size: 1, offset: 0, bytes: [1])
    chunk.data = "%%%"
    guard case .failure(.invalid) = WireCodec.decodeClientRequest(WireCodec.encode(.upload(chunk))) else {
      return XCTFail("accepted bad base64")
    }
  }

  /// Every numeric and text field of a client request is checked at the boundary: a request
  /// out of range is `.invalid`, naming the field (a negative `top` once trapped the
  /// coordinator; a `../` digest in SUBMIT's data once touched a file outside the store).
  func testClientRequestsOutOfRangeAreRefusedNamingTheField() {
    let good = String(repeating: "a", count: 64)
    let cases: [(ClientRequest, String)] = [
      (.leaderboard(LeaderboardRequest(sweep: "s1-1", top: -1)), "top: -1"),
      (.leaderboard(LeaderboardRequest(sweep: "s1-1", top: 0)), "top: 0"),
      (.leaderboard(LeaderboardRequest(sweep: "s1-1", top: Int.max)), "top: "),
      (.leaderboard(LeaderboardRequest(sweep: "s1-1", groupBy: "")), "groupBy"),
      (.leaderboard(LeaderboardRequest(sweep: "../x")), "sweep: '../x'"),
      (.status(sweep: String(repeating: "s", count: 500)), "sweep: "),
      (.history(sweep: ""), "sweep: ''"),
      (.cancel(sweep: "a b"), "sweep: 'a b'"),
      (.delete(sweep: "s\u{0}"), "sweep: "),
      (.logs(LogsRequest(trial: -3)), "trial: -3"),
      (.logs(LogsRequest(trial: 1, attempt: 0)), "attempt: 0"),
      (.logs(LogsRequest(trial: 1, after: -1)), "after: -1"),
      (.manage(ManageRequest(sweep: "s1-1", action: .extend, runCap: -7)), "runCap: -7"),
      (.manage(ManageRequest(sweep: "s1-1", action: .extend, runCap: Int.max)), "runCap: "),
      (.manage(ManageRequest(sweep: "s1-1", action: .enqueue, values: [:])), "values"),
      (.submit(SubmitRequest(file: "t.yaml", text: "", data: ["x": "../../probe_target"])), "data.x: '../../probe_target'"),
      (.submit(SubmitRequest(file: "t.yaml", text: "", data: ["x": good.uppercased()])), "data.x"),
    ]
    for (request, field) in cases {
      guard case .failure(.invalid(_, let reason)) = WireCodec.decodeClientRequest(WireCodec.encode(request)) else {
        XCTFail("accepted \(request)")
        continue
      }
      XCTAssertTrue(reason.hasPrefix(field), "\(reason) does not start with \(field)")
    }
    let fine: [ClientRequest] = [
      .leaderboard(LeaderboardRequest(sweep: "s1765090000-1", top: 10, groupBy: "optimizer")),
      .status(sweep: nil), .logs(LogsRequest(trial: 0, attempt: 1, after: 0)),
      .manage(ManageRequest(sweep: "s1-1", action: .extend, runCap: 200)),
      .submit(SubmitRequest(file: "t.yaml", text: "", data: ["data.path": good])),
    ]
    for request in fine {
      guard case .success(let decoded) = WireCodec.decodeClientRequest(WireCodec.encode(request)) else {
        XCTFail("refused \(request)")
        continue
      }
      XCTAssertEqual(decoded, request)
    }
  }

  func testMalformedInputIsAnErrorNotACrash() {
    func error(_ frames: [[UInt8]]) -> WireError? {
      if case .failure(let error) = WireCodec.decodeWorkerMessage(frames) { return error }
      return nil
    }
    let header = Array("SWP1".utf8)
    XCTAssertEqual(error([]), .frameCount(0))
    XCTAssertEqual(error([header, Array("BYE".utf8)]), .frameCount(2))
    XCTAssertEqual(
      error([Array("SWP2".utf8), Array("BYE".utf8), Array("{}".utf8)]), .unknownProtocol("SWP2"))
    XCTAssertEqual(error([header, Array("LAUNCH".utf8), Array("{}".utf8)]), .unknownCommand("LAUNCH"))
    XCTAssertEqual(error([header, [0xff, 0xfe], Array("{}".utf8)]), .unknownCommand("\u{FFFD}\u{FFFD}"))
    XCTAssertEqual(
      error([header, Array("METRIC".utf8), [UInt8](repeating: 32, count: 2_000_000)]),
      .frameTooLarge(bytes: 2_000_000, limit: Protocol.maximumFrameBytes))
    if case .malformedBody(let command, let reason)? = error([
      header, Array("METRIC".utf8), Array("{\"epoch\": 1}".utf8),
    ]) {
      XCTAssertEqual(command, "METRIC")
      XCTAssertTrue(reason.contains("missing required key 'attempt'"), reason)
    } else {
      XCTFail("missing attempt not reported")
    }
    XCTAssertEqual(
      error(
        WireCodec.encode(
          .metric(MetricReport(attempt: AttemptID(trial: 1, attempt: 0), epoch: 1, values: [:])))),
      .invalid(command: "METRIC", reason: "attempt 0 is not ≥ 1"))
    XCTAssertEqual(
      error(WireCodec.encode(.metric(MetricReport(attempt: attempt, epoch: 0, values: [:])))),
      .invalid(command: "METRIC", reason: "epoch 0 is not ≥ 1"))
    XCTAssertEqual(
      error(WireCodec.encode(.ready(Ready(worker: "w", host: "h", slots: 0, version: "1")))),
      .invalid(command: "READY", reason: "slots 0 is not ≥ 1"))
  }

  /// Replies (a large sweep's leaderboard) may exceed the 1 MiB limit of worker messages.
  func testLargeRepliesAreAccepted() throws {
    let big = Array(String(repeating: "x", count: 3 << 20).utf8)
    let json = Array("\"".utf8) + big + Array("\"".utf8)
    XCTAssertEqual(
      try WireCodec.decodeClientReply(WireCodec.encode(ClientReply.ok(json: json))).get(), .ok(json: json))
    if case .success = WireCodec.decodeWorkerMessage(WireCodec.encode(ClientReply.ok(json: json))) {
      XCTFail("a worker message of 3 MiB must be refused")
    }
  }

  /// Seeded random frames — pure noise, and mutations of valid messages — through every
  /// decoder: each returns a message or an error, never traps.
  /// The spec is cut out of an ASSIGN body unread, wherever it stands and whatever its
  /// strings hold (braces, quotes, escapes), in a body written another way (spaces, order).
  func testAssignSpecIsOpaque() throws {
    let spec = #"{"a": "}{\"]", "b": [1, {"c": "\\"}], "d": {"e": null}}"#
    let body = #" { "spec" : "# + spec + #" , "sweep": "s,}", "attempt": {"trial": 4, "attempt": 2} } "#
    let frames = [Array(Protocol.header.utf8), Array("ASSIGN".utf8), Array(body.utf8)]
    guard case .assign(let assignment) = try WireCodec.decodeCoordinatorMessage(frames).get() else {
      return XCTFail("not an ASSIGN")
    }
    XCTAssertEqual(String(decoding: assignment.spec.bytes, as: UTF8.self), spec)
    XCTAssertEqual(assignment.sweep, "s,}")
    XCTAssertEqual(assignment.attempt, AttemptID(trial: 4, attempt: 2))
    // No spec, a spec that is not an object, or an unterminated one: refused, never trapped.
    for bad in [
      #"{"sweep": "s", "attempt": {"trial": 4, "attempt": 2}}"#,
      #"{"spec": 3, "sweep": "s", "attempt": {"trial": 4, "attempt": 2}}"#,
      #"{"spec": {"a": "}, "sweep": "s", "attempt": {"trial": 4, "attempt": 2}}"#,
    ] {
      let frames = [Array(Protocol.header.utf8), Array("ASSIGN".utf8), Array(bad.utf8)]
      XCTAssertThrowsError(try WireCodec.decodeCoordinatorMessage(frames).get(), bad)
    }
  }

  func testRandomFramesNeverTrap() throws {
    var random = RandomSource(seed: 99)
    let valid = [
      WireCodec.encode(
        WorkerMessage.metric(MetricReport(attempt: attempt, epoch: 2, values: ["val_loss": 0.5]))),
      WireCodec.encode(
        CoordinatorMessage.assign(
          Assignment(
            attempt: attempt, sweep: "s", spec: SpecJSON(Array(try WireCodec.encoder().encode(TrialSpec())))))
      ),
      WireCodec.encode(ClientRequest.submit(SubmitRequest(file: "f", text: "t"))),
    ]
    var decoded = 0
    for i in 0..<30_000 {
      var frames: [[UInt8]]
      if i % 2 == 0 {
        frames = (0..<random.index(below: 5)).map { _ in
          (0..<random.index(below: 64)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        }
      } else {
        frames = valid[random.index(below: valid.count)]
        let f = random.index(below: frames.count)
        if !frames[f].isEmpty {
          for _ in 0..<(1 + random.index(below: 4)) {
            frames[f][random.index(below: frames[f].count)] = UInt8(truncatingIfNeeded: random.next())
          }
        }
      }
      if case .success = WireCodec.decodeWorkerMessage(frames) { decoded += 1 }
      if case .success = WireCodec.decodeCoordinatorMessage(frames) { decoded += 1 }
      if case .success = WireCodec.decodeClientRequest(frames) { decoded += 1 }
      _ = WireCodec.decodeClientReply(frames)
    }
    XCTAssertGreaterThan(decoded, 0, "some mutations leave a valid message")
  }

  /// LOG and LOGS travel and come back as they were; a LOG names a valid attempt.
  func testLogMessagesRoundTrip() throws {
    let chunk = LogChunk(attempt: AttemptID(trial: 4, attempt: 2), stream: .stderr, text: "héllo\n\u{1}")
    XCTAssertEqual(
      try WireCodec.decodeWorkerMessage(WireCodec.encode(WorkerMessage.log(chunk))).get(), .log(chunk))
    let request = ClientRequest.logs(LogsRequest(trial: 4, attempt: nil, after: 17))
    XCTAssertEqual(try WireCodec.decodeClientRequest(WireCodec.encode(request)).get(), request)
    let bad = WireCodec.encode(
      WorkerMessage.log(LogChunk(attempt: AttemptID(trial: 4, attempt: 0), stream: .stdout, text: "")))
    XCTAssertThrowsError(try WireCodec.decodeWorkerMessage(bad).get())
  }
}
