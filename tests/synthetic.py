"""A synthetic CritPt-shaped problem set that the tests write themselves.

The real CritPt files are not part of this repository. Tests that only need
"some problems" use this stand-in instead: the 70 public ids
(``Challenge_1_main`` ... ``Challenge_70_main``, one ``Challenge_N.json`` file
each, in the official schema), with short problems and answer templates written
here. They cover every answer shape the real set has, at the same ids as the
real set (so a test can name, say, the concrete-input templates 20, 45 and 62):

- 39 ``answer()`` without arguments returning floats, ints, lists of floats,
  tuples, bools, sets (of tuples, of strings) and multiple-choice strings;
- 28 ``answer(...)`` taking only module-level ``sympy`` symbols, some with
  assumptions (``positive``, ``real``, ``integer``), one of them a name bound by
  an import (Challenge_25), one returning a set of expressions, some returning
  multiple-choice strings next to an expression (Challenge_2);
- 3 taking concrete inputs (Challenge_20 with numpy/scipy, Challenge_45
  returning a bool, Challenge_62 returning a ``sympy.Interval``).

``write_example`` writes the stand-in for the published example challenge:
golden answers (``answer_code`` defining ``real_answer``), a main problem, three
sub-problem checkpoints whose descriptions restate the earlier steps (with
``### Answer:`` sections), and a second file holding the main problem alone.

The content is original and physically simple; no grader knows these problems.
Both sets are loaded through the same loaders and config keys users use
(``dataset.path=<folder>``; ``dataset.public=false`` for the example).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

BANNER = "    # ------------------ FILL IN YOUR RESULTS BELOW ------------------"
RULE = "    # ---------------------------------------------------------------"

# Ids whose answer() takes no arguments, and those taking concrete inputs (as in the real set).
NO_ARGUMENTS = (1, 4, 6, 8, 9, 10, 13, 14, 16, 17, 21, 26, 27, 28, 31, 32, 33, 35, 37, 41, 42, 43, 44, 46, 47,
                48, 50, 52, 54, 55, 56, 57, 58, 61, 63, 64, 68, 69, 70)
CONCRETE_INPUTS = (20, 45, 62)
IMPORT_BOUND = 25  # answer(..., c, ...) where c comes from `from ... import ... as c`


def template(summary: str, outputs: str, placeholders: Sequence[str], returns: Sequence[str], *,
             header: str = "", args: Sequence[str] = (), inputs: str = "") -> str:
    """A code template in the official layout: module header, ``def answer``, a
    docstring with inputs and outputs, placeholders between the two rules."""
    doc = ['    r"""', f"    {summary}", ""]
    doc += ["    Inputs", "    ----------", *(f"    {line}" for line in (inputs or "None").splitlines()), ""]
    doc += ["    Outputs", "    ----------", *(f"    {line}" for line in outputs.splitlines()), '    """']
    body = [BANNER, *(f"    {p}" for p in placeholders), RULE, "", f"    return {', '.join(returns)}"]
    head = header.strip("\n") + "\n\n" if header else ""
    return head + f"def answer({', '.join(args)}):\n" + "\n".join(doc) + "\n\n" + "\n".join(body)


def description(setup: str, question: str) -> str:
    return f"\n\n# Problem setup:\n{setup}\n\n# Main problem:\n{question}"


# -- answers without arguments ------------------------------------------------------------------------------

# Plain numerical questions: (setup, question, output name, unit).
FLOATS: List[Tuple[str, str, str, str]] = [
    ("A simple pendulum of length $L = 2.0\\,$m swings with small amplitude in a uniform field "
     "$g = 9.81\\,$m/s$^2$.", "What is its period?", "period", "s"),
    ("A particle of mass $m$ is confined to a one-dimensional box of width $a$ with hard walls.",
     "What is the ratio $E_3/E_1$ of the third to the first energy level?", "ratio", "dimensionless"),
    ("A thin lens has focal length $f = 0.25\\,$m. An object sits $0.75\\,$m in front of it.",
     "Where is the image, measured from the lens?", "image_distance", "m"),
    ("A capacitor of $C = 2\\,\\mu$F is charged to $V = 5\\,$V.", "How much energy does it store?",
     "energy", "J"),
    ("An ideal gas expands isothermally at $T = 300\\,$K from $V$ to $2V$; take $k_B = 1$ and one particle.",
     "What is the work done by the gas per unit temperature?", "work_per_T", "dimensionless"),
    ("A spin-1/2 particle sits in a field along $z$ and is prepared along $+x$.",
     "What is the probability of finding it along $+z$?", "probability", "dimensionless"),
    ("A planet moves on a circular orbit of radius $r$ around a star; the radius is doubled.",
     "By what factor does the orbital period grow?", "factor", "dimensionless"),
    ("Two resistors of $3\\,\\Omega$ and $6\\,\\Omega$ are connected in parallel.",
     "What is the equivalent resistance?", "resistance", "Ohm"),
    ("A photon has wavelength $500\\,$nm; take $hc = 1240\\,$eV nm.", "What is its energy?", "energy_eV", "eV"),
    ("A harmonic oscillator has $\\hbar\\omega = 1$.", "What is its ground-state energy?", "E0", "units of 1"),
    ("A block slides down a frictionless incline of angle $30^\\circ$ with $g = 9.81\\,$m/s$^2$.",
     "What is its acceleration along the incline?", "acceleration", "m/s^2"),
    ("A hydrogen atom is in its ground state; take the Rydberg energy as $13.6\\,$eV.",
     "What energy ionises it?", "ionisation_energy", "eV"),
    ("A string of length $1\\,$m is fixed at both ends; waves travel at $340\\,$m/s.",
     "What is the fundamental frequency?", "frequency", "Hz"),
    ("A Carnot engine works between $600\\,$K and $300\\,$K.", "What is its efficiency?", "efficiency",
     "dimensionless"),
    ("A charge of $1\\,$nC sits at the origin; take $1/(4\\pi\\epsilon_0) = 9\\times10^9$ SI.",
     "What is the field strength $1\\,$m away?", "field", "V/m"),
    ("A muon at rest lives $2.2\\,\\mu$s; it moves with $\\gamma = 10$.", "How long does it live in the lab?",
     "lifetime", "s"),
    ("A rod of mass $M$ and length $\\ell$ rotates about one end.",
     "What is its moment of inertia in units of $M\\ell^2$?", "inertia", "M l^2"),
    ("A random walker takes 100 unit steps in one dimension.", "What is the root-mean-square displacement?",
     "rms", "steps"),
    ("Sound of intensity $10^{-6}\\,$W/m$^2$ is heard; the reference is $10^{-12}\\,$W/m$^2$.",
     "What is the level in decibels?", "level", "dB"),
    ("A two-level system has energies $0$ and $\\epsilon$ at temperature $k_BT = \\epsilon$.",
     "What is the probability of the upper level?", "p_upper", "dimensionless"),
    ("Water flows at $2\\,$m/s through a pipe that narrows to half its cross-section.",
     "What is the speed in the narrow part?", "speed", "m/s"),
    ("A coil of inductance $L = 1\\,$mH and a capacitor of $1\\,\\mu$F form a circuit.",
     "What is its angular resonance frequency?", "omega", "1/s"),
    ("A body at $T = 5800\\,$K radiates as a black body; take Wien's constant $2.898\\times10^{-3}\\,$m K.",
     "At which wavelength is its spectrum highest?", "wavelength", "m"),
    ("A ball is thrown straight up at $10\\,$m/s with $g = 10\\,$m/s$^2$.", "How high does it rise?",
     "height", "m"),
    ("A compact star has mass $1.4$ solar masses; one solar mass has a Schwarzschild radius of $2.95\\,$km.",
     "What is the star's Schwarzschild radius?", "radius", "km"),
    ("A dielectric slab with $\\epsilon_r = 4$ fills a parallel-plate capacitor.",
     "By what factor does the capacitance grow?", "factor", "dimensionless"),
    ("An electron is accelerated through $100\\,$V.", "What is its kinetic energy?", "kinetic", "eV"),
    ("A satellite orbits just above the surface of a planet of radius $R$ and surface gravity $g$.",
     "What is the ratio of escape speed to orbital speed?", "ratio", "dimensionless"),
]


def float_problem(n: int, k: int) -> Tuple[str, str]:
    setup, question, name, unit = FLOATS[k % len(FLOATS)]
    text = template(f"Return the value of `{name}` for challenge {n}.", f"{name}: float, in {unit}",
                    [f"{name} = ..."], [name])
    return description(setup, question + " Give at least 12 significant digits."), text


SPECIAL_NO_ARGS: Dict[int, Tuple[str, str]] = {
    1: (description("A function $f(x) = e^{x}\\cos x$ is expanded around $x = 0$.",
                    "Give the first four Taylor coefficients, in order of increasing power."),
        template("Return the Taylor coefficients.",
                 "coeffs: list[float], the coefficients of $x^0, x^1, x^2, x^3$",
                 ["coeffs = ..."], ["coeffs"])),
    4: (description("A particle on a ring has angular momentum $\\ell$ and a spin projection $\\sigma = \\pm1$.",
                    "Which pairs $(\\ell, \\sigma)$ with $|\\ell| \\leq 1$ have total projection $\\ell + \\sigma = 0$?"),
        template("Return the allowed pairs.", "pairs : set[tuple[int, int]]\n    The allowed $(\\ell, \\sigma)$.",
                 ["pairs = ..."], ["pairs"])),
    6: (description("A lattice model has three bands with Chern numbers to be found, and a spread functional.",
                    "Give the three Chern numbers and the spread, rounded to 2 decimals."),
        template("Return the Chern numbers and the spread.",
                 "chern: tuple[int, int, int]\n    (C1, C2, C3), up to an overall sign.\nspread: float\n"
                 "    The gauge-invariant spread, rounded to 2 decimal places.",
                 ["chern = ...             # three integers", "spread = ...            # a float"],
                 ["chern", "spread"])),
    8: (description("A finite square well has strength parameter $z_0 = 5$.", "How many bound states does it hold?"),
        template("Return the number of bound states.", "count: int", ["count = ..."], ["count"])),
    13: (description("A spin-1 particle is measured along $z$ after preparation along $x$.",
                     "Give each outcome $m$ with its exact probability."),
         template("Return the outcomes with their probabilities.",
                  "outcomes: set[tuple[int, sympy.Expr]], pairs $(m, P_m)$ with exact probabilities",
                  ["outcomes = ..."], ["outcomes"], header="import sympy as sp")),
    14: (description("A ball rolls without slipping down a slope; a second, identical one slides without friction.",
                     "Which arrives first? A. rolling B. sliding C. together D. depends on the mass"),
         template("Return the answer to the multiple choice question.", "choice: str, one of the options",
                  ["choice = ...  # one of {'A', 'B', 'C', 'D'}"], ["choice"])),
    33: (description("Three species A, B, C of particles interact with range $r$; a length $r_o$ scales as "
                     "$v^a w^b z^c$ and is at least $10^s$.",
                     "Which species crystallise for $r > r_o$, and what are $a + 10b + 100c$ and $s$?"),
         template("Return the species, the exponent code and $s$.",
                  "species: set[str], from {'A', 'B', 'C'}\ncode: float, the value of a + 10b + 100c\n"
                  "s: float", ["species = ...", "code = ...", "s = ..."], ["species", "code", "s"])),
    35: (description("A Fabry-Perot cavity has mirrors of reflectivity $0.9$.",
                     "Give its transmission at the first three resonances."),
         template("Return the transmissions.", "transmissions: list[float]", ["transmissions = ..."],
                  ["transmissions"])),
    37: (description("A hydrogen-like ion has charge $Z = 2$.",
                     "Give the principal quantum number of its first excited level and that level's energy in eV."),
         template("Return the level and its energy.", "level: tuple[int, float]", ["level = ..."], ["level"])),
    42: (description("Disorder in a thin film sets a correlation length $\\xi \\propto n^{\\alpha}$ and a "
                     "plateau may appear.",
                     "Give $\\alpha$ and say whether a plateau appears and whether it is long-range."),
         template("Return the exponent and the two answers.",
                  "alpha: float\nhas_plateau: bool, True if the plateau appears\nis_long_range: bool",
                  ["alpha = ...", "has_plateau = ...", "is_long_range = ..."],
                  ["alpha", "has_plateau", "is_long_range"])),
    46: (description("A chain of spins has special eigenstates.",
                     "Give their energies in ascending order and the logarithm of each one's overlap with a "
                     "reference state."),
         template("Return the energies and overlaps.",
                  "energies: list[float]\nlog_overlaps: list[float], in the same order as `energies`",
                  ["energies = [...]", "log_overlaps = [...]"], ["energies", "log_overlaps"])),
    54: (description("Quarks of three flavours combine into mesons.",
                     "List the neutral flavour combinations with their charges."),
         template("Return the combinations.", "combos: set[tuple[str, str, int]]", ["combos = ..."],
                  ["combos"])),
    56: (description("A detector is sensitive at two observation times.",
                     "Give the smallest coupling it can probe at each time."),
         template("Return the couplings.", "couplings: list[float]\n    One per observation time.",
                  ["couplings = ..."], ["couplings"])),
    58: (description("A material may show phases labelled X, Y and Z.", "Which phases occur at zero field?"),
         template("Return the phases.", "phases: set[str], chosen from {'X', 'Y', 'Z'}", ["phases = ..."],
                  ["phases"])),
}


def no_argument_problem(n: int, k: int) -> Tuple[str, str]:
    return SPECIAL_NO_ARGS.get(n) or float_problem(n, k)


# -- answers taking module-level sympy symbols -----------------------------------------------------------------

def symbolic(setup: str, question: str, symbols: Sequence[Tuple[str, str]], returns: Sequence[Tuple[str, str]],
             *, extra_header: str = "", placeholders: Optional[Sequence[str]] = None,
             module_lines: Sequence[str] = (), extra_args: Sequence[str] = ()) -> Tuple[str, str]:
    """A template whose answer() takes module-level names: symbols (``symbols``:
    (names, assumptions) groups, e.g. ("m r0", "positive=True")), and
    ``extra_args`` bound by ``extra_header`` imports or ``module_lines``."""
    lines = ["import sympy as sp"] + ([extra_header] if extra_header else []) + [""]
    args: List[str] = []
    for names, assumptions in symbols:
        split = names.split()
        targets = ", ".join(split)
        call = f"sp.symbols('{names}'{', ' + assumptions if assumptions else ''})"
        lines.append(f"{targets} = {call}")
        args += split
    lines += list(module_lines)
    args += list(extra_args)
    inputs = "\n".join(f"{a}: sympy.Symbol" for a in args)
    outputs = "\n".join(f"{name}: {kind}" for name, kind in returns)
    holes = placeholders or [f"{name} = ...  # a SymPy expression of inputs" for name, _ in returns]
    return description(setup, question), template(
        "Return the result in SymPy format.", outputs, holes, [name for name, _ in returns],
        header="\n".join(lines), args=args, inputs=inputs)


SYMBOLIC: Dict[int, Tuple[str, str]] = {
    2: symbolic("A population of cells grows at a rate that switches between $\\lambda_+$ and $\\lambda_-$ "
                "with rates $k_\\pm$; division is regulated by $\\beta$ with noise $\\sigma^2$.",
                "Find the population growth rate $\\Lambda$, and say how $\\beta$ and $\\sigma^2$ affect it: "
                "A. increase B. decrease C. no effect D. non-monotonic.",
                [("lambda_plus lambda_minus", ""), ("k_plus k_minus", ""), ("beta", ""), ("sigma2", "")],
                [("Lambda", "sympy.Expr"), ("answer_beta", "str"), ("answer_sigma2", "str")],
                placeholders=["Lambda = ...  # a SymPy expression of inputs",
                              "answer_beta = ...  # one of {'A', 'B', 'C', 'D'}",
                              "answer_sigma2 = ...  # one of {'A', 'B', 'C', 'D'}"]),
    3: symbolic("A damped oscillator has natural frequency $\\omega$, damping $\\kappa$ and is driven with "
                "strength $g$.", "Find the steady-state amplitude at resonance.",
                [("omega g kappa", "positive=True")], [("amplitude", "sympy.Expr")]),
    5: symbolic("Let $\\alpha$ be a real parameter and $h(\\alpha) = \\alpha^2 e^{-\\alpha}$.",
                "Find $h'(\\alpha)$.", [("alpha", "real=True")], [("h_prime", "sympy.Expr")]),
    7: symbolic("A network of $d$ nodes with $n$ qubits each is prepared with fidelity $F k^{n-1}$ and dephases "
                "with $q = (1 + e^{-\\gamma t})/2$.", "Find the Fisher information for the averaged parameter.",
                [("F k n d q", "")], [("QFI", "sympy.Expr")]),
    11: symbolic("A superconductor has gap $\\Delta$; a quasiparticle has momentum $x$, stiffness $K$ and "
                 "mass $m$.", "Find the quasiparticle energy.", [("Delta x K m", "")], [("E", "sympy.Expr")]),
    12: symbolic("Four sites are coupled pairwise by $k_{12}, k_{13}, k_{23}, k_{34}$; $N$ walkers hop with bias "
                 "$q$ for time $t$.", "Find the mean occupation of site 4.",
                 [("t k_12 k_13 k_23 k_34 N q", "")], [("occupation", "sympy.Expr")]),
    15: symbolic("A code has $N$ qubits, error rate $p$ and distance $l$.",
                 "Find the logical error rate, and say whether it improves with $l$ (A. yes B. no).",
                 [("N p l", "positive=True")], [("rate", "sympy.Expr"), ("improves", "str")],
                 placeholders=["rate = ...  # a SymPy expression of inputs", "improves = ...  # one of {'A', 'B'}"]),
    18: symbolic("Two dipoles with polarisabilities $\\alpha_1, \\alpha_2$ sit in fields $E_1, E_2$ at distance "
                 "$d_0$.", "Find their interaction energy.",
                 [("epsilon0 d0 alpha_1 alpha_2 E_1 E_2", "positive=True")], [("U", "sympy.Expr")]),
    19: symbolic("Two rings of radii $r_1, r_2$ rotate with phases $\\phi_1, \\phi_2$ in a fluid of viscosity "
                 "$\\eta$.", "Find the torque between them.",
                 [("r_1 r_2 eta", "positive=True"), ("phi_1 phi_2", "real=True")], [("torque", "sympy.Expr")]),
    22: symbolic("A channel mixes states with a weight $x \\in [0, 1]$.", "Find the optimal rate $f(x)$.",
                 [("x", "")], [("f", "sympy.Expr")],
                 placeholders=["f = ...  # a SymPy expression of x"]),
    23: symbolic("A jet has momentum $p_z$ and cut-offs $\\epsilon_{UV}, \\epsilon_{IR}$ at scale $\\mu$.",
                 "Find the one-loop correction as a function of $x$.",
                 [("x p_z epsilon_UV epsilon_IR mu", "positive=True")], [("correction", "sympy.Expr")]),
    24: symbolic("A parton distribution depends on $y$, $p_z$, $\\epsilon_{IR}$ and $\\mu$.",
                 "Find its logarithmic derivative.", [("y p_z epsilon_IR mu", "positive=True")],
                 [("dlog", "sympy.Expr")]),
    25: symbolic("A source at redshift $z$ flickers on time $t_v$; light travels at $c$; $E_p$ is defined from the "
                 "other quantities as in the template.", "Find the minimum Doppler factor.",
                 [("z t_v m_p E_s", "")], [("delta_min", "sympy.Expr")],
                 extra_header="from sympy.physics.units import speed_of_light as c",
                 module_lines=["", "E_p = m_p * c**2 / (2 * (1 + z)**2 * E_s)"], extra_args=["c", "E_p"]),
    29: symbolic("A particle of mass $m$ and energy $E$ crosses a barrier of width $W$ with coupling $\\alpha$.",
                 "Find the tunnelling rate.", [("lambda_ E W alpha m hbar", "positive=True")],
                 [("rate", "sympy.Expr")]),
    30: symbolic("Two fields $\\phi, \\psi$ and their conjugates live in dimensions $d_P, d_B$ and $d$.",
                 "Find the mixed correlator.", [("phi psi phi_star psi_star", ""), ("d_P d_B d", "integer=True")],
                 [("correlator", "sympy.Expr")]),
    34: symbolic("An ellipse has semi-axes $a$ and $b$.", "Find its area.", [("a b", "positive=True")],
                 [("area", "sympy.Expr")]),
    36: symbolic("A chain of $n$ links with stiffness $k$ holds total extension $X_{tot}$.", "Find the force.",
                 [("k n X_tot", "positive=True")], [("force", "sympy.Expr")]),
    38: symbolic("A metal is held at temperature $T$.",
                 "Find its specific heat at low $T$, and name the dominant carrier: A. electrons B. phonons.",
                 [("T", "positive=True")], [("C_v", "sympy.Expr"), ("carrier", "str")],
                 placeholders=["C_v = ...  # a SymPy expression of T", "carrier = ...  # one of {'A', 'B'}"]),
    39: symbolic("A cavity holds $n$ photons and couples with $g$ to an atom decaying at $\\gamma$; a drive has "
                 "amplitude $\\alpha$ and $n_p$ pump photons.", "Find the emission rate.",
                 [("n np g gamma alpha", "positive=True")], [("rate", "sympy.Expr")]),
    40: symbolic("A fluid has susceptibility $\\chi$, conductivity $\\sigma$ and coupling $\\kappa$.",
                 "Find the hydrodynamic modes $\\omega(k)$.", [("chi kappa sigma k", "real=True")],
                 [("omega", "set[sympy.Expr]")],
                 placeholders=["omega = ...  # a set of SymPy expressions of inputs"]),
    49: symbolic("A scattering amplitude depends on $z$ and a cut-off $K$.", "Find its imaginary part.",
                 [("z K", "")], [("im_part", "sympy.Expr")]),
    51: symbolic("A field $x$ has coupling $g$ and quartic self-interaction $\\lambda$.",
                 "Find the effective potential.", [("x g lambda_", "")], [("V_eff", "sympy.Expr")]),
    53: symbolic("A hypercube has dimension $d$.", "Find its number of edges.", [("d", "integer=True, positive=True")],
                 [("edges", "sympy.Expr")]),
    59: symbolic("A black hole of mass $M$ is perturbed with amplitude $\\epsilon$ and spin $a$.",
                 "Find the frequency shift, and say which modes are excited (a set chosen from {'l', 'm'}).",
                 [("M epsilon a", "positive=True")], [("shift", "sympy.Expr"), ("modes", "set[str]")],
                 placeholders=["shift = ...  # a SymPy expression of inputs", "modes = ...  # a set of strings"]),
    60: symbolic("Two point sources are imaged through a lens with $\\Delta k^2$ and overlap $\\gamma$.",
                 "Find the Fisher information per photon.", [("Delta_k_sq gamma", "")], [("QFI", "sympy.Expr")]),
    65: symbolic("A state $\\psi$ has trace $tr$.", "Find the set of its eigenvalues.", [("psi tr", "")],
                 [("eigenvalues", "set[sympy.Expr]")]),
    66: symbolic("A charge $q$ sits in a grounded sphere.", "Find the induced charge.", [("q", "real=True")],
                 [("induced", "sympy.Expr")]),
    67: symbolic("A lattice has dimension $d$.", "Find its coordination number.", [("d", "integer=True")],
                 [("z", "sympy.Expr")]),
}

# -- answers taking concrete inputs --------------------------------------------------------------------------

CONCRETE: Dict[int, Tuple[str, str]] = {
    20: (description("Two dielectric beads of radius $a$ and density $\\rho$ sit in optical tweezers of power $P_0$ "
                     "and waist $w_0$, a distance $R$ apart.", "Find the trap frequency and the coupling rate."),
         template("Return the trap frequency and the coupling.",
                  "omega_t : float\n    The trap frequency, in 1/s.\ng : float\n    The coupling, in 1/s.",
                  ["omega_t = ...", "g = ..."], ["omega_t", "g"],
                  header="import numpy as np\nfrom scipy.constants import c", args=["a", "rho", "P_0", "w_0", "R"],
                  inputs="a: float, bead radius, in nm\nrho: float, density, in kg/m^3\nP_0: float, in mW\n"
                         "w_0: float, waist, in nm\nR: float, distance, in nm")),
    45: (description("A semiconductor has effective masses $m_{c,x}, m_{c,y}, m_{v,x}, m_{v,y}$.",
                     "Decide whether its thermopower changes sign with direction."),
         template("Return whether the sign changes.", "changes_sign: bool", ["changes_sign = ..."],
                  ["changes_sign"], args=["mc_x", "mc_y", "mv_x", "mv_y"],
                  inputs="mc_x, mc_y, mv_x, mv_y: float, effective masses in units of m_0")),
    62: (description("An interferometer with $N = 2k + 1$ paths encodes a phase $\\phi$.",
                     "Find the violation for $k = 1$, the interval $T$ of phases with a violation, and the phase "
                     "of maximal violation."),
         template("Return the violation, the interval and the optimal phase.",
                  "violation: sympy.Expr\nT: sympy.Interval, with `left_open` and `right_open` set explicitly\n"
                  "phi_max: sympy.Expr", ["violation = ...", "T = ...", "phi_max = ..."],
                  ["violation", "T", "phi_max"],
                  header="import sympy as sp\n\nphi = sp.symbols('phi')\nk = sp.symbols('k', integer=True)",
                  args=["phi", "k", "k_value"],
                  inputs="phi: sympy.Symbol\nk: sympy.Symbol\nk_value: int, selects which interval to return")),
}


def public_problem(n: int) -> Tuple[str, str]:
    """(problem_description, code_template) of ``Challenge_{n}_main``."""
    if n in CONCRETE:
        return CONCRETE[n]
    if n in SYMBOLIC:
        return SYMBOLIC[n]
    return no_argument_problem(n, NO_ARGUMENTS.index(n))


def challenge_file(name: str, problems: List[dict]) -> dict:
    return {"dataset_name": name, "source_notebook": f"synthetic/{name}.ipynb", "problems": problems}


def problem_record(pid: str, desc: str, code_template: str, *, problem_type: str = "main",
                   index: Optional[int] = None, answer_code: Optional[str] = None, notebook: str = "") -> dict:
    metadata = {"settings": {}, "tag": "", "notebook_path": notebook}
    if problem_type == "main":
        metadata["problem_setup"] = desc.split("# Main problem:")[0].strip()
    else:
        metadata["sub_problem_index"] = index
    return {"problem_id": pid, "problem_type": problem_type, "problem_index": index, "problem_description": desc,
            "code_template": code_template, "answer_code": code_template if answer_code is None else answer_code,
            "answer_only_code": "", "testcases": None, "metadata": metadata}


def write_public_set(folder: Path) -> Path:
    """Write ``Challenge_1.json`` ... ``Challenge_70.json`` into ``folder``. The
    public files' ``answer_code`` is the bare template (no golden answers), as
    in the real set."""
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(1, 71):
        desc, code = public_problem(n)
        name = f"Challenge_{n}"
        record = problem_record(f"{name}_main", desc, code, notebook=f"synthetic/{name}.ipynb")
        (folder / f"{name}.json").write_text(json.dumps(challenge_file(name, [record]), indent=2))
    return folder


def write_version_file(folder: Path, name: str, public_dir: Path, *, date: str = "2030-01-01") -> Path:
    """A CritPt version file describing the challenge files of ``public_dir`` (ids, per-problem and
    per-file checksums), as a version added later would be: one new file."""
    from critpt_harness.data.versions import problem_checksum
    from critpt_harness.runs import canonical_sha256

    files = sorted(public_dir.glob("Challenge_*.json"), key=lambda p: int(p.stem.split("_")[1]))
    problems = [p for f in files for p in json.loads(f.read_text())["problems"] if p["problem_type"] == "main"]
    version = {
        "name": name, "title": f"CritPt {name} (synthetic)", "date": date,
        "problem_ids": [p["problem_id"] for p in problems],
        "problem_sha256": {p["problem_id"]: problem_checksum(p) for p in problems},
        "github": {"repository": "synthetic/CritPt", "commit": "f" * 40, "directory": "json",
                   "file_sha256": {f.name: canonical_sha256(json.loads(f.read_text())) for f in files}},
        "huggingface": {"repo_id": "CritPt-Benchmark/CritPt", "revision": None,
                        "files": ["data/train-00000-of-00001.parquet"]},
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(version, indent=2))
    return folder / f"{name}.json"


def parquet_of(public_dir: Path, edit=None) -> bytes:
    """The challenge files of ``public_dir`` as the Hugging Face dataset lays them out: one row per
    problem, ``metadata_<key>`` columns, written by pyarrow; ``edit(rows)`` may change the rows first."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = []
    for f in sorted(public_dir.glob("Challenge_*.json"), key=lambda p: int(p.stem.split("_")[1])):
        for p in json.loads(f.read_text())["problems"]:
            row = {k: v for k, v in p.items() if k not in ("metadata", "testcases")}
            row["testcases"] = json.dumps(p.get("testcases"))
            row.update({f"metadata_{k}": json.dumps(v) if not isinstance(v, str) else v
                        for k, v in (p.get("metadata") or {}).items()})
            rows.append(row)
    if edit is not None:
        edit(rows)
    out = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), out)
    return out.getvalue()


# -- the example challenge: golden answers and checkpoints --------------------------------------------------

EXAMPLE_CHALLENGE = "leaky_cavity"
_SETUP = ("A lossy optical cavity stores one photon. Each round trip, the photon leaks out with probability $p$ "
          "through one of the two mirrors with equal probability; a detector behind the first mirror clicks when "
          "it leaves that way. We study how the survival and the detection statistics depend on $p$.")
_STEP1 = ("Suppose that the cavity is probed for exactly two round trips. Write the probability that the photon is "
          "still stored at the end, as a function of $p$, assuming the detector never clicked falsely.")
_STEP2 = ("Suppose that a second detector behind the other mirror is added, and we keep only runs in which neither "
          "detector clicked during the first two round trips. What is the conditional probability that the photon "
          "is still stored after the third round trip, as a function of $p$?")
_MAIN = ("Suppose that the whole protocol of the previous steps is repeated and post-selected on no clicks. What is "
         "the final post-selected survival probability as a function of the leak probability $p$?")
# Golden right-hand sides: rational functions of p that sympy.cancel writes differently.
GOLDEN = {
    "sub_0": "(1 - sp.Rational(2, 3)*p)**2",
    "sub_1": "1 - (sp.Rational(1, 5)*p**2) / (1 - sp.Rational(6, 5)*p + sp.Rational(2, 5)*p**2)",
    "main": ("1 - (sp.Rational(3, 8)*p**2 - sp.Rational(1, 4)*p**3) / "
             "(1 - sp.Rational(1, 2)*p + sp.Rational(1, 4)*p**3)"),
}


def _example_template(what: str, name: str, golden: Optional[str] = None) -> str:
    code = template(f"Return {what} as a function of the leak probability $p$.",
                    f"{name}: sympy.Expr, {what}",
                    [f"{name} = ...  # a SymPy expression of inputs" if golden is None else f"{name} = {golden}"],
                    [name], header="import sympy as sp\n\np = sp.symbols('p')", args=["p"],
                    inputs="p: sympy.Symbol, the leak probability per round trip, $p$")
    return code if golden is None else code.replace("def answer(", "def real_answer(")


def example_problem(pid: str, desc: str, what: str, name: str, key: str, problem_type: str = "main",
                    index: Optional[int] = None) -> dict:
    record = problem_record(pid, desc, _example_template(what, name), problem_type=problem_type, index=index,
                            answer_code=_example_template(what, name, GOLDEN[key]),
                            notebook=f"synthetic/{EXAMPLE_CHALLENGE}.ipynb")
    record["answer_only_code"] = f"{name} = {GOLDEN[key]}"
    return record


def write_example(folder: Path) -> Path:
    """Write the example challenge (``<EXAMPLE_CHALLENGE>.json``: main + 3
    checkpoints; ``<EXAMPLE_CHALLENGE>_main.json``: the main problem alone)."""
    folder.mkdir(parents=True, exist_ok=True)
    c = EXAMPLE_CHALLENGE
    setup = f"\n\n# Problem setup:\n{_SETUP}"
    step1 = f"{setup}\n\n## Subproblem 1:\n\n{_STEP1}"
    step2 = f"{step1}\n\n### Answer:\n$\nP = (1 - \\frac{{2}}{{3}}p)^2\n$\n\n## Subproblem 2:\n\n{_STEP2}"
    main = f"{setup}\n\n# Main problem:\n\n{_MAIN}"
    survival, conditional, final = ("the survival probability after two round trips",
                                    "the conditional survival probability after three round trips",
                                    "the final post-selected survival probability")
    problems = [
        example_problem(f"{c}_main", main, final, "P_final", "main"),
        example_problem(f"{c}_sub_0", setup, survival, "P_survive", "sub_0", "sub", 0),
        example_problem(f"{c}_sub_1", step1, conditional, "P_conditional", "sub_1", "sub", 1),
        example_problem(f"{c}_sub_2", step2, final, "P_final", "main", "sub", 2),
    ]
    (folder / f"{c}.json").write_text(json.dumps(challenge_file(c, problems), indent=2))
    alone = example_problem(f"{c}_main_main", main, final, "P_final", "main")
    (folder / f"{c}_main.json").write_text(json.dumps(challenge_file(f"{c}_main", [alone]), indent=2))
    return folder
