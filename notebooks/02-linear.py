# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 02 · Linear models are already fooled (sections 4 and 5)
#
# The paper's central argument starts with the simplest models. If a classifier is linear,
# w·x̃ = w·x + w·η, and the max-norm perturbation η = ε sign(w) moves the score by ε‖w‖₁,
# which grows with the number of inputs even though no single pixel changes by more than ε.
# So a plain linear model on MNIST should already be fooled, and the fast gradient sign
# method (FGSM) should be *exactly* the worst case for it. Section 5 then shows that training
# logistic regression on that worst case looks like L1 weight decay, with two differences:
# the penalty sits *inside* the softplus and it is *subtracted* from the margin.
#
# This notebook regenerates the paper's Figure 2 (binary logistic regression, 3s against 7s),
# checks the closed form behind it, sweeps adversarial training against L1 weight decay,
# measures softmax regression on all ten digits (including the two ways the seed report
# trained it adversarially), and runs section 5's control on a maxout network.
#
# Every FGSM number is measured under the report's two protocols (notebook 01 explains
# them): the primary, the formula **as printed**, x + ε sign(∇ₓJ), not clipped, and beside
# it the same step **clipped** to [0, 1] (the claims table's `ours (clipped)` column).

# %% tags=["parameters"]
profile = "default"  # smoke | default | paper (REPRO_PROFILE overrides)

# %%
from helpers.notebook import setup
P, results = setup("02-linear", profile)

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from torchvision.utils import make_grid

from helpers import data, experiments, linear_models, metrics
from helpers.attacks import PRIMARY, PROTOCOLS, fgsm, perturb
from helpers.plotting import save_fig
from helpers.results import paper_claims
from helpers.results import paper_value as paper

EPS = experiments.EPS  # .25, the paper's MNIST budget
CLAIMS = paper_claims()

t_start = time.perf_counter()
x37, y37 = data.subset(*data.two_class(*data.mnist("test")), P.n_test)
x37_train, y37_train = data.subset(*data.two_class(*data.mnist("train")), P.linear.n_train)
x_test, y_test = data.subset(*data.mnist("test"), P.n_test)
print(f"3-vs-7 test digits: {len(x37)} ({int((y37 == 0).sum())} threes, {int((y37 == 1).sum())} sevens); "
      f"3-vs-7 training digits: {len(x37_train)}; ten-class test digits: {len(x_test)}")

# %% [markdown]
# ## 1 · Figure 2: logistic regression on 3s and 7s
#
# **The claim.** A logistic regression P(y = 1 | x) = σ(w·x + b) trained to tell 3s (y = −1)
# from 7s (y = +1) makes 1.6% test error; the FGSM examples at ε = .25 raise that to 99%.
#
# **Why FGSM is exact here.** The loss is ζ(−y(w·x + b)) with ζ the softplus. Its gradient
# with respect to x is −y σ(−y(w·x + b)) w, and σ(·) > 0, so
#
# $$\eta = \epsilon\,\mathrm{sign}(\nabla_x J) = -\epsilon\, y\, \mathrm{sign}(w)$$
#
# for *every* example, whatever its score. Moving each pixel by ε against the label's side
# of w is the best an attacker can do in the box ‖η‖∞ ≤ ε, because the loss is monotone in
# the margin and the margin is linear in x: the attack lowers the margin y(w·x + b) by
# exactly ε‖w‖₁. An example is fooled if and only if its margin is below ε‖w‖₁.
#
# **The model.** The project's canonical `logreg37` configuration: plain (clean) training,
# SGD with momentum, the training split's 3s and 7s, the epoch with the best validation
# error. The paper's Figure 2 model is trained normally too; the adversarial error is the
# error of that plain model on its own FGSM examples.

# %%
fig2_trained = experiments.train(experiments.logreg37(P, "clean"))
logreg = fig2_trained.model
w = logreg.w.detach()

# FGSM under each protocol: as printed (not clipped, the primary) and clipped to [0, 1]
adv37 = {name: fgsm(logreg, x37, y37, EPS, clip=clip) for name, clip in PROTOCOLS.items()}
clean_err = metrics.model_error(logreg, x37, y37)
adv_err = {k: metrics.model_error(logreg, v, y37) for k, v in adv37.items()}
exactness = {k: linear_models.fgsm_exactness(logreg, x37, y37, EPS, clip) for k, clip in PROTOCOLS.items()}
check = pd.DataFrame([{"attack": k + (" (not clipped)" if clip is None else " to [0, 1]"),
                       "error %": 100 * adv_err[k],
                       "FGSM = x - eps*y*sign(w), share of examples %": 100 * exactness[k]["exact"],
                       "input gradient exactly 0 (float32 saturation) %": 100 * exactness[k]["saturated"],
                       "max |FGSM - closed form|": (v - linear_models.worst_case_examples(logreg, x37, y37, EPS, clip))
                           .abs().max().item()}
                      for k, clip in PROTOCOLS.items() for v in [adv37[k]]])
print(f"clean test error: {100 * clean_err:.2f}%  (paper {paper('fig2.logreg37_clean_err')}%)")
print(f"eps * ||w||_1 = {EPS} * {linear_models.l1_norm(logreg):.1f} = {EPS * linear_models.l1_norm(logreg):.1f}: "
      f"the drop in margin the attack causes on every example")
check.round(3)

# %% [markdown]
# Every FGSM example equals x − ε y sign(w) pixel for pixel (the table's middle column),
# so FGSM *is* the closed-form worst case. With clipping to [0, 1] it is still the worst
# case inside the smaller set "box ∩ valid images": the loss is separable in the pixels,
# so clipping each pixel's move is optimal. One caveat of floating point, not of the
# mathematics: if a 7 is predicted so confidently that 1 − p rounds to 0 in float32 (margin
# above about 17), autograd returns a zero gradient and FGSM leaves the digit unchanged; the
# "saturation" column counts such digits (the unit tests construct one).
#
# `fig2.logreg37_adv_err` is recorded under the report's primary protocol, FGSM as printed
# (not clipped), which for this model is also the exact worst case in the ε box that the
# paper's 99% is about. The clipped error (valid images: the worst case in box ∩ [0, 1]ⁿ,
# so never above the unclipped one) is beside it, in the table above and in the claims
# table's `ours (clipped)` column.

# %%
margins = (linear_models.signed(y37) * logreg.logit(x37)).detach()
fig, ax = plt.subplots(figsize=(7, 3.2))
ax.hist(margins.numpy(), bins=60, color="C0")
ax.axvline(0, color="black", lw=1)
ax.axvline(EPS * linear_models.l1_norm(logreg), color="C3", ls="--",
           label=f"eps ||w||_1 = {EPS * linear_models.l1_norm(logreg):.1f}")
ax.set(xlabel="margin y (w.x + b) of a clean test digit", ylabel="digits",
       title=f"Every digit left of the dashed line is fooled by the eps = .25 attack {PRIMARY} (not clipped)")
ax.legend()
save_fig("logreg37-margins", fig)
plt.show()

# %% [markdown]
# Now the figure itself: (a) the weights, (b) their sign, which is the optimal perturbation
# up to the factor −εy, (c) clean test digits, (d) their FGSM versions as printed (not
# clipped, so the perturbation is visible as a faint copy of panel b, plus or minus; the
# caption adds the error of the clipped examples).

# %%
n_show = 16
x_show, y_show = x37[:n_show], y37[:n_show]
adv_show = adv37[PRIMARY][:n_show]
lim = w.abs().max().item()
fig, axes = plt.subplots(1, 4, figsize=(13, 3.6))
axes[0].imshow(w.view(28, 28), cmap="RdBu_r", vmin=-lim, vmax=lim)
axes[0].set_title("(a) weights w\n(red pushes towards 7)")
axes[1].imshow(w.sign().view(28, 28), cmap="gray")
axes[1].set_title("(b) sign(w)")
for ax, imgs, title in [(axes[2], x_show, f"(c) clean 3s and 7s\ntest error {100 * clean_err:.1f}%"),
                        (axes[3], adv_show,
                         f"(d) FGSM, eps = {EPS}, {PRIMARY}\ntest error {100 * adv_err[PRIMARY]:.2f}% "
                         f"(clipped: {100 * adv_err['clipped']:.2f}%)")]:
    grid = make_grid(imgs, nrow=4, padding=2, pad_value=float(imgs.max()))[0]
    ax.imshow(grid, cmap="gray", vmin=float(imgs.min()), vmax=float(imgs.max()))
    ax.set_title(title)
for ax in axes:
    ax.axis("off")
fig.suptitle(f"Figure 2 regenerated (paper: {paper('fig2.logreg37_clean_err')}% clean, "
             f"{paper('fig2.logreg37_adv_err'):.0f}% adversarial error)", y=1.03)
save_fig("fig2-logreg37", fig)
plt.show()

# %%
results.record("fig2.logreg37_clean_err", 100 * clean_err,
               note=f"{len(x37)} test 3s and 7s; epoch {fig2_trained.history[-1]['best_epoch']} "
                    f"of {len(fig2_trained.history)} kept (best validation error)")
results.record("fig2.logreg37_adv_err", 100 * adv_err[PRIMARY], clipped=100 * adv_err["clipped"],
               note="FGSM eps .25, as printed (not clipped): the exact worst case in the eps box; clipped to "
                    "[0, 1]: the exact worst case in the box and [0, 1] (both checked on every example)")
results.table().loc[["fig2.logreg37_clean_err", "fig2.logreg37_adv_err"]]

# %% [markdown]
# ## 2 · Adversarial training of logistic regression is a *subtracted* L1 penalty
#
# **The claim (section 5).** Training on the worst case means minimising
#
# $$\mathbb{E}\ \zeta\big(-y(w\cdot x + b) + \epsilon\lVert w\rVert_1\big),$$
#
# which resembles L1 weight decay, ζ(−y(w·x + b)) + λ‖w‖₁, with two differences: the
# penalty is inside the softplus, so it fades once the model's margins exceed ε‖w‖₁ and ζ
# saturates; and if ε is large enough that no margin can exceed ε‖w‖₁, the model underfits
# (in the extreme, w = 0 and the model predicts the majority class).
#
# **Which way the printed sign goes.** The paper writes the objective as
# ζ(y(ε‖w‖₁ − w·x − b)). Its derivation takes η = −ε sign(w) without the y, so the y ends
# up multiplying the penalty too: right for the 7s (y = +1), but for the 3s (y = −1) it
# *adds* ε‖w‖₁ to their margin, a perturbation that helps the classifier. The worst case
# is η = −ε y sign(w), i.e. ζ(−y(w·x + b) + ε‖w‖₁), and that is what we train (the
# objective `worst_case_linear`; its unit test checks it against training on exact FGSM
# examples). The table below measures the difference on the Figure 2 model.

# %%
signs = {"3s (y = -1)": y37 == 0, "7s (y = +1)": y37 == 1}
printed_eta = x37 - EPS * w.sign().view(1, 1, 28, 28)  # the printed derivation's eta, no y
clean_loss = torch.nn.functional.softplus(-linear_models.signed(y37) * logreg.logit(x37)).detach()
rows = []
for name, mask in signs.items():
    rows.append({"digits": name,
                 "clean loss": clean_loss[mask].mean().item(),
                 "worst-case loss (ours)": linear_models.worst_case_loss(logreg, x37, y37, EPS)[mask].mean().item(),
                 "printed formula's loss": linear_models.printed_loss(logreg, x37, y37, EPS)[mask].mean().item(),
                 "clean error %": 100 * metrics.model_error(logreg, x37[mask], y37[mask]),
                 "error, eta = -eps y sign(w) %":
                     100 * metrics.model_error(logreg, adv37[PRIMARY][mask], y37[mask]),
                 "error, printed eta = -eps sign(w) %": 100 * metrics.model_error(logreg, printed_eta[mask], y37[mask])})
pd.DataFrame(rows).round(3)

# %% [markdown]
# For the 3s the printed formula's "adversarial" loss is *below* the clean loss and its
# perturbation lowers their error: it is not an attack on them. For the 7s both agree.
#
# ### The sweep
#
# We train one model per ε (adversarial, the closed form, on the worst case alone as in
# the paper) and one per λ (clean loss plus λ‖w‖₁ on the mean loss of a batch), and
# measure each on the training digits (clean), on the test digits (clean), and under the
# exact worst-case attack at ε = .1 and .25, as printed (not clipped; FGSM gives the same
# examples, the table's "FGSM exact" column checks it) and clipped to [0, 1] (the table's
# "clipped" columns, the dashed lines with open markers in the figure). The sweep uses Adam
# (step 1e-3) rather than the canonical SGD with momentum: both penalties push every weight
# by a constant amount, and with the canonical step the weights rattle around zero from
# epoch to epoch. Adversarial models keep the epoch with the best *adversarial* validation
# error at their own ε, as the paper does for its adversarial nets; the L1 models the best
# clean validation error.

# %%
ATTACK_EPS = (0.1, EPS)
sweep_models = {}
for e in P.linear.eps_train:
    sweep_models["adversarial", e] = experiments.train(experiments.logreg37_sweep(P, eps=e))
for lam in P.linear.l1:
    sweep_models["L1", lam] = experiments.train(experiments.logreg37_sweep(P, l1=lam))


def sweep_row(kind, strength, trained):
    m = trained.model
    row = {"training": kind, "eps or lambda": strength,
           "kept epoch": trained.history[-1]["best_epoch"],
           "train error %": 100 * metrics.model_error(m, x37_train, y37_train),
           "clean test error %": 100 * metrics.model_error(m, x37, y37),
           "last-epoch valid error %": 100 * trained.history[-1]["valid_error"]}
    for a in ATTACK_EPS:
        row[f"worst-case error eps={a} %"] = 100 * metrics.model_error(
            m, linear_models.worst_case_examples(m, x37, y37, a, PROTOCOLS[PRIMARY]), y37)
    for a in ATTACK_EPS:
        row[f"worst-case error eps={a}, clipped %"] = 100 * metrics.model_error(
            m, linear_models.worst_case_examples(m, x37, y37, a, PROTOCOLS["clipped"]), y37)
    row["||w||_1"] = linear_models.l1_norm(m)
    row["FGSM exact %"] = 100 * linear_models.fgsm_exactness(m, x37, y37, EPS)["exact"]
    return row


sweep = pd.DataFrame([sweep_row(k, s, t) for (k, s), t in sweep_models.items()])
sweep.round({c: 2 for c in sweep.columns if c != "eps or lambda"})

# %%
ref = sweep[(sweep.training == "adversarial") & (sweep["eps or lambda"] == 0)]
cols = ["train error %", "clean test error %"] + [f"worst-case error eps={a} %" for a in ATTACK_EPS]
fig, axes = plt.subplots(1, 2, figsize=(12, 4), sharey=True)
adv_part = sweep[sweep.training == "adversarial"]
l1_part = sweep[sweep.training == "L1"]
for i, c in enumerate(cols):
    axes[0].plot(adv_part["eps or lambda"], adv_part[c], marker="o", color=f"C{i}", label=c)
    axes[1].plot(l1_part["eps or lambda"], l1_part[c], marker="o", color=f"C{i}", label=c)
    if len(ref):
        axes[1].axhline(ref[c].iloc[0], color=f"C{i}", ls=":", lw=1)
for i, a in enumerate(ATTACK_EPS, start=2):  # the worst case clipped to [0, 1], beside the primary
    c = f"worst-case error eps={a}, clipped %"
    axes[0].plot(adv_part["eps or lambda"], adv_part[c], marker="o", mfc="white", ls="--", color=f"C{i}", label=c)
    axes[1].plot(l1_part["eps or lambda"], l1_part[c], marker="o", mfc="white", ls="--", color=f"C{i}", label=c)
axes[0].set(xlabel="training eps (0 = plain training)", ylabel="error on 3s vs 7s (%)",
            title="Adversarial training: softplus(-y(w.x+b) + eps ||w||_1)")
axes[1].set(xlabel="L1 coefficient lambda", xscale="log",
            title="L1 weight decay: softplus(-y(w.x+b)) + lambda ||w||_1\n(dotted: plain training)")
axes[0].axhline(50, color="grey", lw=0.8, ls="--")
axes[0].text(axes[0].get_xlim()[0], 51, " chance", color="grey", fontsize="small")
fig.legend(*axes[0].get_legend_handles_labels(), fontsize="small", loc="upper center", bbox_to_anchor=(0.5, 0.0),
           ncols=3)
save_fig("logreg37-sweep", fig)
plt.show()

wc = f"worst-case error eps={EPS} %"
for kind, part in (("adversarial", adv_part[adv_part["eps or lambda"] > 0]), ("L1", l1_part)):
    best = part.loc[part[wc].idxmin()]
    print(f"{kind:>11}: lowest worst-case error at eps {EPS}: {best[wc]:.1f}% "
          f"(eps or lambda {best['eps or lambda']:g}, clean test error {best['clean test error %']:.2f}%)")
worst = adv_part.loc[adv_part["eps or lambda"].idxmax()]
print(f"largest training eps {worst['eps or lambda']:g}: train error {worst['train error %']:.1f}%, "
      f"||w||_1 = {worst['||w||_1']:.2f} (plain: {ref['||w||_1'].iloc[0]:.1f})")

# %%
n = len(sweep_models)
fig, axes = plt.subplots(1, n, figsize=(1.9 * n, 2.6))
for ax, ((kind, s), t) in zip(np.atleast_1d(axes), sweep_models.items()):
    wi = t.model.w.detach().view(28, 28)
    lim = max(wi.abs().max().item(), 1e-8)
    ax.imshow(wi, cmap="RdBu_r", vmin=-lim, vmax=lim)
    label = ("plain" if s == 0 else f"eps {s:g}") if kind == "adversarial" else f"L1 {s:g}"
    ax.set_title(f"{label}\n||w||_1 = {linear_models.l1_norm(t.model):.1f}", fontsize="small")
    ax.axis("off")
fig.suptitle("Learned weights (each panel on its own symmetric colour scale; red = towards 7)", y=1.05)
save_fig("logreg37-weights", fig)
plt.show()

# %% [markdown]
# **Reading the sweep.** Both penalties shrink ‖w‖₁ and switch off the pixels that carry
# little evidence (the border, most of the background), and at small strength they trade
# clean error for worst-case error alike: compare the rows ε = .1 and λ = .01 of the table.
# They part ways in two places. First, the adversarial penalty is tied to the attack: the
# lines printed above compare the lowest worst-case error at ε = .25 that each family
# reaches in our sweep, and at what clean cost. Second, underfitting: at the largest ε no
# margin can exceed ε‖w‖₁, the objective is minimised by shrinking w to almost nothing, and
# the training error goes to chance (grey dashed line; the printed line gives the numbers), the
# failure the paper warns about. The "kept epoch" column is worth a look: selecting the
# epoch on validation error can hide part of a collapse, so the table also shows the last
# epoch's clean validation error.
#
# ## 3 · Softmax regression on ten digits
#
# **The claims.** A shallow softmax regression misclassifies 99.9% of FGSM examples at
# ε = .25, with 79.3% mean confidence on its mistakes (section 4). The seed report trained
# it adversarially in two ways: through the "L1-like" penalty (the per-logit worst case,
# with ε up to .3), which only reached 56% accuracy under attack at ε = .3, and on a 1:1 mix
# of clean and adversarial examples, which it found robust.
#
# **What we run.** The canonical softmax model (SGD with momentum, plain training), attacked
# with FGSM as printed (not clipped, the primary protocol) and clipped to valid pixels
# beside it, as in the other notebooks. For the seed's two methods:
#
# * *L1-like*: α J(x) + (1 − α) J(x̃) with J(x̃) the per-logit worst case (every logit moved
#   by ε‖w_k‖₁ against the label, the softmax version of the closed form), α = .5, ε = .3.
#   For softmax this bound is pessimistic: no single η lines up with all ten weight vectors.
# * *1:1 mix*: the seed crafted adversarial examples, added them to the clean training set
#   and retrained ("a training set containing both adversarial and clean examples", ratio
#   1:1). That is pre-generated augmentation, not the paper's on-line objective, so we do
#   the same: FGSM examples (ε = .3) of the whole training split crafted once on the plain
#   model, then a fresh model trained on both halves. The training examples are clipped to
#   [0, 1] (the model's configuration, unchanged by the protocols); the models are attacked
#   under both protocols.

# %%
SEED_EPS = 0.3  # the seed report's largest eps, used for both of its adversarial trainings
soft = {"plain": experiments.train(experiments.softmax(P, "clean")),
        "L1-like (per-logit worst case)": experiments.train(experiments.softmax_l1_like(P, SEED_EPS)),
        "1:1 mix, pre-generated": experiments.train(experiments.softmax_mix(P, SEED_EPS))}
plain = soft["plain"].model

adv_plain = {name: metrics.evaluate(plain, perturb("fgsm", plain, x_test, y_test, EPS, clip), y_test)
             for name, clip in PROTOCOLS.items()}
print(f"plain softmax, clean test error {100 * metrics.evaluate(plain, x_test, y_test)['error']:.2f}%")
pd.DataFrame([{"FGSM eps .25": name + (" (not clipped)" if PROTOCOLS[name] is None else " to [0, 1]"),
               "error %": 100 * r["error"], "paper error %": paper("s4.softmax_adv_err"),
               "confidence on mistakes %": 100 * r["conf_wrong"],
               "paper confidence %": paper("s4.softmax_adv_conf")} for name, r in adv_plain.items()]).round(2)

# %%
grid_eps = sorted(set(P.eps_grid) | {EPS, SEED_EPS})
curve = []
for name, t in soft.items():
    for row in metrics.eps_sweep(t.model, x_test, y_test, grid_eps):  # both protocols
        curve.append({"model": name, "attack": "white box (FGSM on itself)", **row})
mix = soft["1:1 mix, pre-generated"].model
for protocol, clip in PROTOCOLS.items():
    for e in grid_eps:  # the kind of examples the mix model was trained on: crafted on the plain model
        curve.append({"model": "1:1 mix, pre-generated", "attack": "crafted on the plain model", "protocol": protocol,
                      "eps": e, **metrics.evaluate(mix, perturb("fgsm", plain, x_test, y_test, e, clip), y_test)})
curve = pd.DataFrame(curve)
curve["accuracy %"] = 100 * (1 - curve["error"])
curve.pivot_table(index="eps", columns=["model", "attack", "protocol"], values="accuracy %", sort=False).round(1)

# %%
fig, ax = plt.subplots(figsize=(8, 4.5))
colours = {}
for (name, attack, protocol), g in curve.groupby(["model", "attack", "protocol"], sort=False):
    c = colours.setdefault((name, attack), f"C{len(colours)}")
    primary = protocol == PRIMARY
    ax.plot(g["eps"], g["accuracy %"], color=c, marker="o" if attack.startswith("white") else "s",
            ls="-" if primary else "--", mfc=None if primary else "white", label=f"{name} ({attack}), {protocol}")
ax.scatter([EPS], [100 - paper("s4.softmax_adv_err")], marker="*", s=200, color="black", zorder=5,
           label="paper: plain softmax at eps .25")
ax.scatter([SEED_EPS], [float(CLAIMS["seed.softmax_l1_adv_acc"]["seed_report_value"])], marker="P", s=150,
           color="C1", edgecolor="black", zorder=5, label="seed report: L1-like at eps .3")
ax.set(xlabel=f"FGSM eps (solid: {PRIMARY}, not clipped; dashed: clipped to [0, 1])", ylabel="test accuracy (%)",
       ylim=(-2, 102),
       title="Softmax regression on ten digits: accuracy under FGSM")
ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1))
save_fig("softmax-eps-curve", fig)
plt.show()

# %% [markdown]
# How pessimistic is the per-logit bound? For each model, the error the bound claims at
# ε (every logit moved on its own) beside what FGSM actually achieves (both as printed, not
# clipped, since the bound knows nothing of the pixel range).

# %%
pd.DataFrame([{"model": name, "eps": e,
               "per-logit bound error %": 100 * linear_models.bound_error(t.model, x_test, y_test, e),
               f"FGSM error, {PRIMARY} (not clipped) %": 100 * metrics.evaluate(
                   t.model, perturb("fgsm", t.model, x_test, y_test, e, None), y_test)["error"]}
              for name, t in soft.items() for e in (0.1, EPS, SEED_EPS)]).round(2)

# %%
at_seed_eps = curve[curve.eps == SEED_EPS]
acc_l1 = at_seed_eps[at_seed_eps.model == "L1-like (per-logit worst case)"].set_index("protocol")["accuracy %"]
acc_mix = at_seed_eps[at_seed_eps.model == "1:1 mix, pre-generated"]
results.record("s4.softmax_adv_err", 100 * adv_plain[PRIMARY]["error"], clipped=100 * adv_plain["clipped"]["error"],
               note=f"FGSM eps .25, {len(x_test)} test digits")
results.record("s4.softmax_adv_conf", 100 * adv_plain[PRIMARY]["conf_wrong"],
               clipped=100 * adv_plain["clipped"]["conf_wrong"], note=f"FGSM eps .25, {len(x_test)} test digits")
results.record("seed.softmax_l1_adv_acc", acc_l1[PRIMARY], clipped=acc_l1["clipped"],
               note="alpha .5, per-logit worst case at eps .3, FGSM eps .3; the 1:1 mix model: "
                    + ", ".join(f"{a}, {p} {v:.1f}%" for a, p, v in
                                zip(acc_mix["attack"], acc_mix["protocol"], acc_mix["accuracy %"])))
results.table().loc[["s4.softmax_adv_err", "s4.softmax_adv_conf", "seed.softmax_l1_adv_acc"]]

# %% [markdown]
# **Reading the softmax results.** The plain model is fooled on essentially every test digit,
# as the paper says, under both protocols; it is *more* confident on its mistakes than the
# paper's under both (table above):
# our model is trained without weight decay and with momentum, so its weights, and with them
# its logits, are larger. The L1-like model pays for its pessimistic bound with a much higher
# clean error and still loses most digits at ε = .3; its accuracy stays well below the seed's
# 56%, which we cannot explain from the seed's description (it gives no optimiser, α or
# input scaling: if its pixels were standardised, "ε = .3" would be a smaller attack than
# ours). The 1:1 mix is the instructive one: it resists the examples it was trained on, those
# crafted on the plain model (and, as the seed saw, the stronger they are the easier they are
# to recognise), but FGSM computed on the mix model itself fools it as easily as the plain
# one. Pre-generated examples teach the model the old model's perturbation, not robustness.
# Each curve is drawn under both protocols (clipped dashed, beside its solid as-printed
# partner) and the claims table gives each claim under both. One asymmetry: the 1:1 mix
# model was trained on *clipped* examples crafted on the plain model, so its "crafted on the
# plain model" curve as printed tests it on examples slightly outside what it was shown.
#
# ## 4 · Section 5's control: L1 weight decay on a maxout network
#
# **The claim.** If adversarial training were just L1 weight decay, L1 on the first layer of
# a deep net should help too. The paper found that a coefficient of .0025 was too large: the
# maxout net got stuck above 5% error *on the training set*; smaller coefficients trained but
# brought no regularisation benefit.
#
# **What we run.** The project's maxout network (two maxout layers, dropout, max-norm, the
# recipe's SGD schedule), trained plainly for a short, equal number of epochs with L1
# coefficients 0 (the reference), .0025 and the profile's smaller value(s), added to the
# mean loss of each batch as in pylearn2. We measure training error (training split, eval
# mode), clean test error and FGSM error at ε = .25, as printed (the primary) and clipped to
# [0, 1].

# %%
coefs = [0.0] + list(P.linear.maxout_l1)
maxout_nets = {c: experiments.train(experiments.maxout(P, "clean", l1=c).replace(
    epochs=P.linear.maxout_l1_epochs, train_split="train")) for c in coefs}  # 50k: validation curves below
x_mtrain, y_mtrain = data.subset(*data.mnist("train"), P.maxout.n_train)
FGSM_COL = {PRIMARY: f"FGSM error eps .25, {PRIMARY} %", "clipped": "FGSM error eps .25, clipped %"}
mrows = []
for c, t in maxout_nets.items():
    rob = metrics.robustness(t.model, x_test, y_test, EPS)  # both protocols from one gradient
    mrows.append({"L1 coefficient": c, "epochs": len(t.history),
                  "train error %": 100 * metrics.model_error(t.model, x_mtrain, y_mtrain),
                  "clean test error %": rob["clean_err"],
                  FGSM_COL[PRIMARY]: rob["adv_err"], FGSM_COL["clipped"]: rob["adv_err_clipped"],
                  "||W_1||_1": linear_models.l1_norm(t.model)})
mtab = pd.DataFrame(mrows)
mtab.round({c: 3 for c in mtab.columns if c != "L1 coefficient"})

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
labels = ["none" if c == 0 else f"{c:g}" for c in coefs]
xpos = np.arange(len(coefs))
for i, col in enumerate(["train error %", "clean test error %", FGSM_COL[PRIMARY], FGSM_COL["clipped"]]):
    axes[0].bar(xpos + (i - 1.5) * 0.2, mtab[col], width=0.2, label=col, color=f"C{min(i, 2)}",
                hatch="//" if col == FGSM_COL["clipped"] else None)
axes[0].axhline(5, color="C3", ls="--", lw=1, label="5% (paper: .0025 stuck above)")
axes[0].set(xticks=xpos, xticklabels=labels, xlabel="L1 coefficient on the first layer", ylabel="error (%)",
            title=f"Maxout, {P.linear.maxout_l1_epochs} epochs of plain training")
axes[0].legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=2)
for c, t in maxout_nets.items():
    h = pd.DataFrame(t.history)
    axes[1].plot(h["epoch"], 100 * h["valid_error"], marker="o", label=f"L1 {c:g}" if c else "no L1")
axes[1].axhline(5, color="C3", ls="--", lw=1)
axes[1].set(xlabel="epoch", ylabel="validation error (%)", yscale="log", title="Validation error per epoch")
axes[1].legend(fontsize="small")
save_fig("maxout-l1-control", fig)
plt.show()

# %%
base = mtab[mtab["L1 coefficient"] == 0].iloc[0]
big = mtab[mtab["L1 coefficient"] == 0.0025].iloc[0]
small = mtab[(mtab["L1 coefficient"] > 0) & (mtab["L1 coefficient"] < 0.0025)]
# per protocol: does each smaller coefficient change the FGSM error against no L1?
words = {p: {r["L1 coefficient"]: linear_models.direction(base[col] / 100, r[col] / 100, len(x_test))
             for _, r in small.iterrows()} for p, col in FGSM_COL.items()}
# the claim fails if any smaller coefficient helps, so record the most favourable outcome
verdict = {p: next(w for w in ("benefit", "no benefit", "harm") if w in ws.values()) for p, ws in words.items()}
results.record("s5.l1_0025_train_err", big["train error %"],
               note=f"maxout {P.maxout.units} units, {P.linear.maxout_l1_epochs} epochs; without L1: "
                    f"{base['train error %']:.2f}%")

def fgsm_text(r):
    """FGSM error of a row under both protocols, with the verdict against no L1 where it has one."""
    c = r["L1 coefficient"]
    return ", ".join(f"{r[col]:.1f}% {p}" + (f" ({words[p][c]})" if c in words[p] else "") for p, col in FGSM_COL.items())


results.record("s5.l1_small_no_benefit", verdict[PRIMARY], clipped=verdict["clipped"],
               note="FGSM error eps .25: none " + fgsm_text(base) + "; "
                    + "; ".join(f"L1 {r['L1 coefficient']:g}: {fgsm_text(r)} "
                                f"(train {r['train error %']:.2f}%, clean test {r['clean test error %']:.2f}%)"
                                for _, r in small.iterrows())
                    + f"; none: train {base['train error %']:.2f}%, clean test {base['clean test error %']:.2f}%")
for p, ws in words.items():
    print(f"FGSM error ({p}) against no L1, per smaller coefficient: " + ", ".join(f"{c:g}: {w}" for c, w in ws.items()))
results.table().loc[["s5.l1_0025_train_err", "s5.l1_small_no_benefit"]]

# %% [markdown]
# **Reading the control.** With .0025 the penalty (.0025 per weight per step, on about a
# million first-layer weights) overwhelms the data gradient: the weights are driven to zero
# and the network cannot even fit its training set, as the paper found. A much smaller
# coefficient trains like the reference, and its FGSM error stays close to the reference's
# (the recorded verdict says, under each protocol, whether the difference is beyond
# sampling noise).
# L1 weight decay is not adversarial training for a deep net: the worst case of a maxout
# network is not ε‖W₁‖₁, and the penalty does not fade as the model fits.
# This is a short run (see the epochs column): it shows the direction of both effects, not
# the paper's converged numbers.
#
# ## Summary
#
# Our numbers beside the paper's (and the seed report's) for every claim of this notebook.

# %%
print(f"notebook run time: {time.perf_counter() - t_start:.0f} s (profile {P.name})")
results.table()

# %%
results.save()

# %% [markdown]
# **Where we differ and why.**
#
# * *Figure 2* reproduces closely (see the summary table). The adversarial error is recorded
#   as printed (not clipped), the report's primary protocol, which for this model is also
#   the exact worst case in the ε box that the paper's statement is about; clipping to valid
#   pixels can only lower it (the `ours (clipped)` column).
# * *The two protocols* change the size of the attack, not the linear explanation: clipping
#   cancels only the pixel moves that would leave [0, 1], so for logistic regression the
#   clipped examples are still the exact worst case of a smaller set, and the claim that a
#   plain linear model is fooled by an ε = .25 step is judged under both in the summary
#   table (Figure 2's error, and the softmax regression's error and confidence in
#   section 3). The primary is chosen from the paper's text, not from which column lands
#   closer to its values.
# * *The printed formula* of section 5 attaches y to the penalty; the worst case has it only
#   on w·x + b. We train the latter.
# * *Softmax confidence* on mistakes is higher than the paper's: the paper's optimiser and
#   regularisation for this model are not given; ours has no weight decay.
# * *The seed's L1-like result* is not reproduced; the seed does not say enough to find out
#   why. Its "robust" 1:1-mix model is robust only to the examples it was trained on.
# * *The maxout control* is a few epochs, not the paper's full training; the direction of
#   both effects is what it shows.
