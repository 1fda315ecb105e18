import Vocabulary

/// Every optimizer sweepd knows, by its config name, with its hyperparameters and defaults.
///
/// The table here is the single source of the defaults; `docs/optimizers.md` lists the same
/// table and a test checks the two agree.
public enum OptimizerKind: String, CaseIterable, Codable, Sendable {
  case sgd, momentum, nesterov, adagrad, rmsprop, adadelta, adam, adamw
  case sgdHD = "sgd_hd"
  case sgdnHD = "sgdn_hd"
  case adamHD = "adam_hd"
  case eve
  case diagNewton = "diag_newton"

  public var hyperparameters: [HyperparameterDefinition] {
    let weightDecay = HyperparameterDefinition(
      "weight_decay", .nonNegative, .number(0), "coupled L2 penalty λ: g ← g + λθ")
    let scope = HyperparameterDefinition(
      "hypergrad_scope", .choice(["global", "parameter"]), .word("global"),
      "one learning rate for all parameters, or one per parameter")
    func lr(_ value: Double) -> HyperparameterDefinition {
      HyperparameterDefinition("lr", .positive, .number(value), "learning rate α")
    }
    func beta(_ name: String, _ value: Double) -> HyperparameterDefinition {
      HyperparameterDefinition(name, .unitInterval, .number(value), "decay of a moving average")
    }
    func eps(_ value: Double) -> HyperparameterDefinition {
      HyperparameterDefinition("eps", .positive, .number(value), "ε added for numerical stability")
    }
    func momentum(_ value: Double) -> HyperparameterDefinition {
      HyperparameterDefinition("momentum", .unitInterval, .number(value), "momentum μ")
    }
    let dampening = HyperparameterDefinition(
      "dampening", .unitInterval, .number(0), "dampening τ of the momentum buffer")
    switch self {
    case .sgd:
      return [
        lr(0.01), momentum(0), dampening,
        HyperparameterDefinition("nesterov", .flag, .flag(false), "Nesterov momentum"), weightDecay,
      ]
    case .momentum:
      return [lr(0.01), momentum(0.9), dampening, weightDecay]
    case .nesterov:
      return [lr(0.01), momentum(0.9), weightDecay]
    case .adagrad:
      return [
        lr(0.01), eps(1e-10),
        HyperparameterDefinition(
          "initial_accumulator", .nonNegative, .number(0), "initial value of Σg²"),
        HyperparameterDefinition("lr_decay", .nonNegative, .number(0), "α_t = α/(1 + (t−1)·lr_decay)"),
        weightDecay,
      ]
    case .rmsprop:
      return [
        lr(0.01), beta("rho", 0.99), eps(1e-8),
        HyperparameterDefinition("centered", .flag, .flag(false), "divide by the centred variance"),
        momentum(0), weightDecay,
      ]
    case .adadelta:
      return [lr(1.0), beta("rho", 0.9), eps(1e-6), weightDecay]
    case .adam:
      return [
        lr(0.001), beta("beta1", 0.9), beta("beta2", 0.999), eps(1e-8),
        HyperparameterDefinition("amsgrad", .flag, .flag(false), "use the running maximum of v"),
        weightDecay,
      ]
    case .adamw:
      return [
        lr(0.001), beta("beta1", 0.9), beta("beta2", 0.999), eps(1e-8),
        HyperparameterDefinition("amsgrad", .flag, .flag(false), "use the running maximum of v"),
        HyperparameterDefinition(
          "weight_decay", .nonNegative, .number(0.01), "decoupled decay λ: θ ← θ·(1 − αλ)"),
      ]
    case .sgdHD:
      return [
        lr(0.001), hypergradLR(0.001), scope, momentum(0), dampening, weightDecay,
      ]
    case .sgdnHD:
      return [lr(0.001), hypergradLR(0.001), scope, momentum(0.9), weightDecay]
    case .adamHD:
      return [
        lr(0.001), beta("beta1", 0.9), beta("beta2", 0.999), eps(1e-8), hypergradLR(1e-7), scope,
        weightDecay,
      ]
    case .eve:
      return [
        lr(0.001), beta("beta1", 0.9), beta("beta2", 0.999), beta("beta3", 0.999),
        HyperparameterDefinition("k_lower", .positive, .number(0.1), "lower clip k of the loss ratio"),
        HyperparameterDefinition("k_upper", .positive, .number(10), "upper clip K of the loss ratio"),
        eps(1e-8),
        HyperparameterDefinition("f_star", .anyReal, .number(0), "known lower bound f⋆ of the loss"),
      ]
    case .diagNewton:
      return [lr(1.0), eps(1e-4)]
    }
  }

  private func hypergradLR(_ value: Double) -> HyperparameterDefinition {
    HyperparameterDefinition("hypergrad_lr", .nonNegative, .number(value), "hypergradient step β")
  }

  /// Parses a config name, suggesting the closest known name on a typo.
  public static func named(_ name: String) throws -> OptimizerKind {
    if let kind = OptimizerKind(rawValue: name) { return kind }
    throw HyperparameterError.unknownOptimizer(
      name, suggestion: closestMatch(to: name, among: allCases.map(\.rawValue)))
  }

  /// Validates `given` against this optimizer's table and fills in defaults. Every unknown
  /// name is reported in one error; a value of the wrong kind or out of range names itself.
  public func resolve(_ given: [String: HyperparameterValue]) throws -> ResolvedHyperparameters {
    let definitions = hyperparameters
    let allowed = definitions.map(\.name)
    let unknown = given.keys.filter { !allowed.contains($0) }.sorted()
    if !unknown.isEmpty {
      throw HyperparameterError.unknownHyperparameters(
        optimizer: rawValue, names: unknown, allowed: allowed)
    }
    var values: [String: HyperparameterValue] = [:]
    for definition in definitions {
      var value = given[definition.name] ?? definition.defaultValue
      // A whole number where a flag is expected is not accepted; but 0/1 typed as numbers
      // for a real parameter are numbers already.
      if case .flag = definition.kind, case .word(let word) = value,
        let flag = Bool(word.lowercased())
      {
        value = .flag(flag)
      }
      guard definition.kind.accepts(value) else {
        throw HyperparameterError.invalidValue(
          optimizer: rawValue, name: definition.name, value: value,
          allowed: definition.kind.allowedText)
      }
      values[definition.name] = value
    }
    let resolved = ResolvedHyperparameters(values: values)
    try checkConsistency(resolved)
    return resolved
  }

  private func checkConsistency(_ h: ResolvedHyperparameters) throws {
    switch self {
    case .sgd where h.flag("nesterov"):
      if h.real("momentum") <= 0 || h.real("dampening") != 0 {
        throw HyperparameterError.inconsistent(
          optimizer: rawValue, message: "nesterov needs momentum > 0 and dampening = 0")
      }
    case .nesterov where h.real("momentum") <= 0:
      throw HyperparameterError.inconsistent(optimizer: rawValue, message: "nesterov needs momentum > 0")
    case .eve where h.real("k_lower") >= h.real("k_upper"):
      throw HyperparameterError.inconsistent(
        optimizer: rawValue, message: "k_lower must be smaller than k_upper")
    default: break
    }
  }
}

/// An optimizer choice: its name and the hyperparameters given for it.
public struct OptimizerSpec: Hashable, Sendable, Codable {
  public var name: String
  public var hyperparameters: [String: HyperparameterValue]

  public init(name: String, hyperparameters: [String: HyperparameterValue] = [:]) {
    self.name = name
    self.hyperparameters = hyperparameters
  }

  /// The validated kind and complete hyperparameters (defaults filled in).
  public func resolved() throws -> ResolvedOptimizer {
    let kind = try OptimizerKind.named(name)
    return ResolvedOptimizer(kind: kind, hyperparameters: try kind.resolve(hyperparameters))
  }

  /// Builds the optimizer for a parameter vector of `parameterCount` elements.
  public func makeOptimizer<S: OptimizerScalar>(
    scalar: S.Type = S.self, parameterCount: Int
  ) throws -> any Optimizer<S> {
    try resolved().make(scalar: scalar, parameterCount: parameterCount)
  }
}

/// An optimizer spec resolved once: its kind and every hyperparameter's value. A trial
/// resolves its spec once (`TrialSpec.validated`) and builds its optimizer from this.
public struct ResolvedOptimizer: Sendable {
  public var kind: OptimizerKind
  public var hyperparameters: ResolvedHyperparameters

  /// The initial learning rate (`lr`), which a schedule starts from.
  public var learningRate: Double { hyperparameters.real("lr") }

  /// Builds the optimizer for a parameter vector of `parameterCount` elements.
  public func make<S: OptimizerScalar>(scalar: S.Type = S.self, parameterCount: Int) -> any Optimizer<S> {
    let h = hyperparameters
    switch kind {
    case .sgd, .momentum, .nesterov:
      return SGD<S>(
        learningRate: h.real("lr"), momentum: h.real("momentum"),
        dampening: kind == .nesterov ? 0 : h.real("dampening"),
        nesterov: kind == .nesterov || (kind == .sgd && h.flag("nesterov")),
        weightDecay: h.real("weight_decay"))
    case .adagrad:
      return Adagrad<S>(
        learningRate: h.real("lr"), learningRateDecay: h.real("lr_decay"), epsilon: h.real("eps"),
        initialAccumulator: h.real("initial_accumulator"), weightDecay: h.real("weight_decay"))
    case .rmsprop:
      return RMSprop<S>(
        learningRate: h.real("lr"), rho: h.real("rho"), epsilon: h.real("eps"),
        centered: h.flag("centered"), momentum: h.real("momentum"),
        weightDecay: h.real("weight_decay"))
    case .adadelta:
      return Adadelta<S>(
        learningRate: h.real("lr"), rho: h.real("rho"), epsilon: h.real("eps"),
        weightDecay: h.real("weight_decay"))
    case .adam, .adamw:
      return Adam<S>(
        learningRate: h.real("lr"), beta1: h.real("beta1"), beta2: h.real("beta2"),
        epsilon: h.real("eps"), amsgrad: h.flag("amsgrad"), weightDecay: h.real("weight_decay"),
        decoupledWeightDecay: kind == .adamw)
    case .sgdHD, .sgdnHD:
      return SGDHD<S>(
        learningRate: h.real("lr"), hypergradientLearningRate: h.real("hypergrad_lr"),
        perParameter: h.word("hypergrad_scope") == "parameter", momentum: h.real("momentum"),
        dampening: kind == .sgdHD ? h.real("dampening") : 0, nesterov: kind == .sgdnHD,
        weightDecay: h.real("weight_decay"))
    case .adamHD:
      return AdamHD<S>(
        learningRate: h.real("lr"), beta1: h.real("beta1"), beta2: h.real("beta2"),
        epsilon: h.real("eps"), hypergradientLearningRate: h.real("hypergrad_lr"),
        perParameter: h.word("hypergrad_scope") == "parameter", weightDecay: h.real("weight_decay"))
    case .eve:
      return Eve<S>(
        learningRate: h.real("lr"), beta1: h.real("beta1"), beta2: h.real("beta2"),
        beta3: h.real("beta3"), kLower: h.real("k_lower"), kUpper: h.real("k_upper"),
        epsilon: h.real("eps"), fStar: h.real("f_star"))
    case .diagNewton:
      return DiagonalNewton<S>(learningRate: h.real("lr"), epsilon: h.real("eps"))
    }
  }
}
