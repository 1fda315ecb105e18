import Vocabulary
import XCTest

@testable import Programs

/// Command lines as W&B's agent builds them, with values as Python writes them. Reference
/// values: CPython 3.11's own `repr`/`str`/`json.dumps`, and the expectations of W&B's
/// agent tests (`{a: True, b: False, c: 1, d: None}`).
final class ProgramCommandTests: XCTestCase {
  func testFloatsAsPythonWritesThem() {
    let cases: [(Double, String)] = [
      (0.001, "0.001"), (1e-05, "1e-05"), (1.0, "1.0"), (1e16, "1e+16"), (123456789.0, "123456789.0"),
      (0.1 + 0.2, "0.30000000000000004"), (1.5e-07, "1.5e-07"), (1e22, "1e+22"), (12345.678, "12345.678"),
      (0.0001, "0.0001"), (0.00012, "0.00012"), (1234567890123456.0, "1234567890123456.0"),
      (1.2345678901234567e16, "1.2345678901234568e+16"), (-2.5, "-2.5"), (3e-300, "3e-300"),
      (1.7976931348623157e308, "1.7976931348623157e+308"), (5e-324, "5e-324"), (100.0, "100.0"), (0.5, "0.5"),
    ]
    for (value, python) in cases { XCTAssertEqual(PythonText.float(value), python, "\(value)") }
  }

  func testStrOfListsDictsAndWords() {
    XCTAssertEqual(
      PythonText.str(.list([.int(1), .string("a"), .null, .bool(true), .double(2)])),
      "[1, 'a', None, True, 2.0]")
    XCTAssertEqual(
      PythonText.str(
        .map([
          .init(key: "x", value: .list([.double(1), .bool(true)])), .init(key: "y", value: .string("it's")),
        ])),
      #"{'x': [1.0, True], 'y': "it's"}"#)
    XCTAssertEqual(PythonText.str(.string("adam")), "adam", "str() of a word is the word")
    XCTAssertEqual(
      PythonText.json(
        .map([
          .init(key: "a", value: .bool(true)), .init(key: "b", value: .bool(false)),
          .init(key: "c", value: .int(1)),
          .init(key: "d", value: .null), .init(key: "e", value: .double(0.001)),
          .init(key: "s", value: .string("é\"")),
        ])),
      #"{"a": true, "b": false, "c": 1, "d": null, "e": 0.001, "s": "\u00e9\""}"#)
  }

  let parameters: [(String, ConfigValue)] = [
    ("a", .bool(true)), ("b", .bool(false)), ("c", .int(1)), ("d", .null),
  ]

  func arguments(_ macro: String) -> [String] {
    ProgramCommand(command: ["${\(macro)}"], program: "train.py")
      .arguments(parameters: parameters, jsonFile: "/run/params.json", environment: [:])
  }

  /// W&B's own expectations for each macro.
  func testEveryMacroAsWandBExpandsIt() {
    XCTAssertEqual(arguments("args"), ["--a=True", "--b=False", "--c=1", "--d=None"])
    XCTAssertEqual(arguments("args_no_hyphens"), ["a=True", "b=False", "c=1", "d=None"])
    XCTAssertEqual(arguments("args_no_boolean_flags"), ["--a", "--c=1", "--d=None"])
    XCTAssertEqual(arguments("args_json"), [#"{"a": true, "b": false, "c": 1, "d": null}"#])
    XCTAssertEqual(arguments("args_append_hydra"), ["+a=True", "+b=False", "+c=1", "+d=None"])
    XCTAssertEqual(arguments("args_override_hydra"), ["++a=True", "++b=False", "++c=1", "++d=None"])
    XCTAssertEqual(arguments("args_no_equals"), ["--a", "True", "--b", "False", "--c", "1", "--d", "None"])
    XCTAssertEqual(arguments("args_json_file"), ["/run/params.json"])
    XCTAssertEqual(arguments("no_such_macro"), [], "an unknown macro expands to nothing")
  }

  /// The default command, another interpreter, literal elements, and `${envvar:NAME}`
  /// inside any element (NAME itself when unset, as W&B does).
  func testTheDefaultCommandAndVariables() {
    let lr: [(String, ConfigValue)] = [
      ("learning_rate", .double(1e-5)), ("layers", .list([.int(64), .int(32)])),
    ]
    XCTAssertEqual(
      ProgramCommand(command: nil, program: "train.py", interpreter: "python3")
        .arguments(parameters: lr, jsonFile: "p.json", environment: [:]),
      ["/usr/bin/env", "python3", "train.py", "--learning_rate=1e-05", "--layers=[64, 32]"])
    XCTAssertEqual(
      ProgramCommand(
        command: ["${program}", "--data=${envvar:DATA_DIR}/x", "${envvar:UNSET}", "--seed", "3"],
        program: "t.py"
      )
      .arguments(parameters: [], jsonFile: "p.json", environment: ["DATA_DIR": "/data"]),
      ["t.py", "--data=/data/x", "UNSET", "--seed", "3"])
    XCTAssertEqual(
      ProgramCommand.substituteVariables("${envvar:lower}", [:]), "${envvar:lower}", "not a NAME")
  }
}
