# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 03 · Deep maxout networks and adversarial training (section 6)
#
# **The claim.** Training on the fast-gradient-sign objective
#
# $$\tilde J(\theta, x, y) = \alpha\, J(\theta, x, y) + (1-\alpha)\, J\big(\theta,\ x + \epsilon\,\mathrm{sign}(\nabla_x J(\theta, x, y)),\ y\big),\qquad \alpha = .5,\ \epsilon = .25$$
#
# both *regularises* a maxout network (clean test error 0.94% → 0.84% at 240 units; 0.782%
# mean over five seeds at 1600 units) and makes it far harder to fool: its FGSM error falls
# from 89.4% to 17.9%. Training on random noise of the same max-norm size does not help
# (86.2% and 90.4% FGSM error). The seed report reached 1.35% clean error with this objective.
#
# **The method.** The maxout network of the recipe the paper builds on (pylearn2
# `mnist_pi.yaml`): two maxout layers of 240 units × 5 pieces, dropout (inputs kept with
# p = .8 and, as in the recipe, *not* rescaled, so that the first layer trains on .8x on
# average and is tested on x; hidden units kept with p = .5 and scaled by 2), max column
# norm 1.9365, uniform(±.005) initialisation,
# SGD with batch 100, learning rate .1 divided by 1.000004 after every step and momentum
# rising from .5 to .7. The adversarial examples of the objective are regenerated against
# the current weights at every step. The paper early-stops (on *adversarial* validation error
# for the adversarial net) and then retrains on all 60,000 examples; the `paper` profile does
# exactly that. The laptop `default` profile fixes a short schedule in advance, so there is no
# epoch count left to choose: its nets train on all 60,000 examples for that schedule, as the
# paper's final nets do. Its validation curves come from extra seed-0 runs on the first 50,000.
#
# **Where `default` departs from the recipe.** Twenty epochs instead of hundreds, and so a
# faster schedule: momentum .9 from the start and a learning rate of .05 annealed linearly
# to zero over the run. With the recipe's schedule, ten epochs leave the baseline at 2.0%
# clean error (it is still learning: momentum .5 and a rate that barely decays are made for
# a run of hundreds of epochs); this one reaches about 1.8% validation error after ten epochs
# and 1.3-1.5% after twenty. The training steps run in bfloat16 (1.4-1.8x faster than fp32 on the AMD
# machine the profile was set on, about as fast as fp32 on an Intel Xeon with AMX); the weights, their updates and every evaluation below stay in
# fp32, and a 20-epoch fp32 run of seed 0 (on 50,000) gave the same nets within seed noise (baseline
# 1.46% vs 1.40% clean error, adversarial 1.67% vs 1.65%; measured before the input dropout
# matched the recipe's). Initialisation, dropout, max-norm, batch size and the objective are the recipe's.
# The `paper` profile uses the recipe's schedule in fp32, unchanged.

# %% tags=["parameters"]
profile = "default"  # smoke | default | paper (REPRO_PROFILE overrides)

# %%
from helpers.notebook import setup

P, results = setup("03-maxout", profile)

# %%
import dataclasses

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
import torch

from helpers import data, experiments, metrics, paper_schedule, paths, protocol
from helpers.attacks import pgd_split
from helpers.plotting import save_fig
from helpers.results import paper_value

EPS = experiments.EPS
x_test, y_test = data.subset(*data.mnist("test"), P.n_test)
print(f"test examples: {len(x_test)}; maxout {P.maxout.units} units x {P.maxout.pieces} pieces; "
      f"{P.maxout.epochs} epochs (clean/noise), {P.maxout.adv_epochs} (adversarial); "
      f"patience {P.maxout.patience}; training split {P.maxout.train_split}; retrain on 60k: {P.maxout.retrain}; "
      f"seeds {P.maxout.seeds}; "
      f"SGD lr {P.maxout.lr}, momentum {P.maxout.momentum[:2]}, schedule {P.maxout.lr_schedule}, "
      f"training precision {P.maxout.precision}")
print(experiments.maxout(P, "fgsm"))

# %% [markdown]
# ## Training the baseline and the adversarially trained net
#
# The seeds of each net train together, as one *population* (`helpers.population`): every
# weight has a leading member dimension and each layer is one batched matmul, while each
# member keeps its own seed, objective, schedule and early stopping. Every net is cached on
# disk under its full configuration: a second run of this notebook, and notebook 04, load
# them instead of training again.
#
#
# The adversarial objective perturbs its inputs, so it comes in two versions, one per attack
# protocol (notebook 01): **adversarial** trains on x + ε sign(∇ₓJ) as printed, the report's
# primary, and **adversarial (clipped)** on the same step clipped to [0, 1]. Each is scored
# under its own protocol in the claims, and under both in the tables.

# %%
OBJECTIVES = {"baseline": ("clean", {}), "adversarial": ("fgsm", {}), "adversarial (clipped)": ("fgsm", {"clip": True})}
wanted = {(name, seed): experiments.maxout(P, objective, seed, **extra)
          for name, (objective, extra) in OBJECTIVES.items() for seed in P.maxout.seeds}
nets = dict(zip(wanted, experiments.train_many(list(wanted.values()))))

# %% [markdown]
# ## Training curves
#
# Clean and FGSM error on the 10,000 held-out validation images after every epoch. Nets
# trained on all 60,000 have no held-out images, so the curves come from the same
# configuration trained on the first 50,000 (seed 0; the `paper` profile's nets are such runs).

# %%
seed0 = P.maxout.seeds[0]
monitored = dict(zip(OBJECTIVES, experiments.train_many(
    [experiments.maxout(P, objective, seed0, train_split="train", **extra) for objective, extra in OBJECTIVES.values()])))
curves = pd.DataFrame([{"net": name, "seed": seed0, **row}
                       for name, t in monitored.items() for row in t.history if row.get("phase") != "retrain"])
long = curves.melt(id_vars=["net", "seed", "epoch"], value_vars=["valid_error", "valid_adv_error"],
                   var_name="validation", value_name="error")
long["error %"] = 100 * long["error"]
long["validation"] = long["validation"].map({"valid_error": "clean",
                                             "valid_adv_error": "FGSM eps=.25 (each net's own protocol)"})
g = sns.relplot(data=long, x="epoch", y="error %", hue="net", col="validation", kind="line", marker="o",
                facet_kws={"sharey": False}, height=3.2, aspect=1.3)
g.axes[0, 0].set_ylim(0, min(10, long.loc[long.validation == "clean", "error %"].max()))
g.figure.suptitle("Validation error per epoch (first 50,000 train / last 10,000 valid)", y=1.03)
save_fig("training-curves", g.figure)
plt.show()

# %% [markdown]
# ## Clean and adversarial test error
#
# Every net is attacked with FGSM computed on itself (white box), ε = .25, under both
# protocols: as printed (pixels may reach −.25 and 1.25) and clipped to [0, 1]. A claim about
# a net trained on FGSM examples takes, under each protocol, the net trained under that
# protocol: "adversarial" for the printed one, "adversarial (clipped)" for the clipped one.

# %%
def score(trained, name, seed):
    """Clean error, and FGSM (eps .25) error and confidence on mistakes under both protocols, in %."""
    r = metrics.robustness(trained.model, x_test, y_test, EPS)
    return {"net": name, "seed": seed, "epochs": trained.history[-1]["best_epoch"], "clean error %": r["clean_err"],
            "FGSM error %": r["adv_err"], "FGSM conf. on mistakes %": r["adv_conf"],
            "clipped FGSM error %": r["adv_err_clipped"], "clipped conf. %": r["adv_conf_clipped"]}


scores = pd.DataFrame([score(t, name, seed) for (name, seed), t in nets.items()])
scores.round(2)


# %%
def seeds_of(name, column, table=None):
    table = scores if table is None else table
    return table.loc[table.net == name, column].tolist()


def both(name, column, table=None, trained=False):
    """A claim's values as printed and clipped (``record``'s value and clipped=); with
    ``trained``, the clipped value comes from the net trained under the clipped protocol."""
    other = f"{name} (clipped)" if trained else name
    clipped = column if column.startswith("clean") else "clipped " + column.replace("FGSM conf. on mistakes", "conf.")
    return {"value": seeds_of(name, column, table), "clipped": seeds_of(other, clipped, table)}


split = {"train_full": "all 60,000", "train": "first 50,000"}[P.maxout.train_split]
note = f"{P.maxout.units} units, trained on {split}, profile {P.name}"
results.record("s6.maxout240_clean_err", seeds_of("baseline", "clean error %"), note=note)
results.record("s6.maxout240_adv_clean_err", **both("adversarial", "clean error %", trained=True), note=note)
for claim, name, column in (("s4.maxout_adv_err", "baseline", "FGSM error %"),
                            ("s4.maxout_adv_conf", "baseline", "FGSM conf. on mistakes %"),
                            ("s6.advtrained_adv_err", "adversarial", "FGSM error %"),
                            ("s6.advtrained_adv_conf", "adversarial", "FGSM conf. on mistakes %")):
    results.record(claim, **both(name, column, trained=name != "baseline"))
results.table().loc[lambda d: d.index.str.startswith(("s4.maxout", "s6.maxout240", "s6.advtrained"))]

# %% [markdown]
# ## Control: training on noise of the same size
#
# If adversarial training only worked as "data augmentation with noise", training on random
# perturbations of the same max-norm size should help too. The paper's answer is no: ±ε
# random-sign noise gives 86.2% FGSM error (97.3% confidence), U(−ε, ε) noise 90.4% (97.8%).
# Same objective (α = .5), the FGSM term replaced by the noisy copy; as for the adversarial
# net, one version per protocol (the noisy copy as is, or clipped to [0, 1]).

# %%
wanted = {(f"noise ({kind}){suffix}", seed): experiments.maxout(P, kind, seed, **extra)
          for kind in ("sign", "uniform") for suffix, extra in (("", {}), (" (clipped)", {"clip": True}))
          for seed in P.maxout.noise_seeds}
nets.update(zip(wanted, experiments.train_many(list(wanted.values()))))
noise = pd.DataFrame([score(nets[key], *key) for key in wanted])
for kind in ("sign", "uniform"):
    name = f"noise ({kind})"
    results.record(f"s6.noise_{kind}_adv_err", **both(name, "FGSM error %", noise, trained=True))
    results.record(f"s6.noise_{kind}_adv_conf", **both(name, "FGSM conf. on mistakes %", noise, trained=True))
noise.round(2)

# %% [markdown]
# ## The seed report's second approach: pre-generated adversarial examples
#
# The students also trained on a fixed augmented set: FGSM examples crafted once against the
# trained baseline, added to the clean training set, then a fresh net trained on both. Unlike
# the paper's objective, these examples never follow the model as it changes. The augmented
# set is twice as large, so this net trains for `P.maxout.augment_epochs` epochs: about as
# many steps as the baseline. Its examples are crafted clipped to [0, 1], as the students made
# theirs (a clean net's configuration carries no protocol of its own); it is scored under both.

# %%
base_cfg = experiments.maxout(P, "clean", P.maxout.seeds[0])
nets["pre-generated", P.maxout.seeds[0]] = experiments.train(
    experiments.maxout(P, "clean", P.maxout.seeds[0], augment_from=dataclasses.asdict(base_cfg),
                       epochs=P.maxout.augment_epochs))
pregen = pd.DataFrame([score(nets["pre-generated", P.maxout.seeds[0]], "pre-generated", P.maxout.seeds[0])])
summary = pd.concat([scores, noise, pregen]).groupby("net", sort=False).agg(["mean", "std", "count"])
summary = summary.drop(columns=[c for c in summary.columns if c[0] in ("seed", "epochs") or
                                (c[1] == "count" and c[0] != "clean error %")])
summary.round(2)

# %% [markdown]
# ## What the protocol changes
#
# About 81% of MNIST's pixels are exactly 0. Clipped FGSM cannot push them lower, so on the
# background it only adds ink where the gradient asks for more; the formula as printed also
# moves the rest of the background down to −.25, a larger perturbation in every norm. Below,
# each net's FGSM error under the attack it was trained on and under the other one (means over
# seeds): the diagonal of the adversarial nets is what the claims record.

# %%
cross = pd.concat([scores, noise]).groupby("net", sort=False)[
    ["clean error %", "FGSM error %", "clipped FGSM error %"]].mean()
cross.columns = ["clean error %", "FGSM as printed %", "FGSM clipped %"]
cross.round(2)

# %% [markdown]
# Read the table by rows (in the run committed with this text, two seeds): each adversarial
# net resists best the attack it trained on, and the two are not symmetric. The net trained
# as printed keeps much of its robustness against the clipped attack (about 30% error, where
# its own attack gives 41%), because the clipped step is the printed one with the moves that
# would leave [0, 1] cancelled; the clipped-trained net meets the printed attack's extra
# background moves only at test time and errs on about 65%. The price of the larger training
# step is clean accuracy: the net trained as printed ends above the baseline (1.34% against
# 1.27%), the clipped-trained one below it (1.20%). So the two headline claims of this section
# (robustness, and regularisation) come out differently under the two protocols; the
# discussion below takes them one at a time.

# %% [markdown]
# ## Figure 3: the first-layer filters
#
# The paper's Figure 3 shows that adversarial training makes the first-layer weights more
# localised and interpretable. Below, the five pieces of the first ten maxout units of each
# net (each piece is a 28 × 28 weight image, grey = 0).

# %%
def filters(model, units=10):
    w = model.first_layer.linear.weight.detach().cpu()
    return w.view(-1, model.first_layer.pieces, 28, 28)[:units]


fig, axes = plt.subplots(1, 3, figsize=(16, 5.4))
for ax, name in zip(axes, OBJECTIVES):
    w = filters(nets[name, seed0].model)
    grid = torch.cat([torch.cat(list(unit), 1) for unit in w], 0)  # units as rows, pieces as columns
    lim = grid.abs().max()
    ax.imshow(grid, cmap="RdBu_r", vmin=-lim, vmax=lim)
    ax.set_title(f"{name} (rows: units, columns: pieces)")
    ax.axis("off")
fig.suptitle("Figure 3: first-layer maxout weights")
save_fig("fig3-first-layer-weights", fig)
plt.show()

# %% [markdown]
# ## Error and confidence over ε for every variant
#
# White-box FGSM on each net, ε from 0 to .5, as printed (solid) and clipped (dashed).

# %%
variants = {name: t for (name, seed), t in nets.items() if seed == seed0}
sweep = pd.DataFrame([{"net": name, **row}
                      for name, t in variants.items()
                      for row in metrics.eps_sweep(t.model, x_test, y_test, P.eps_grid)])
sweep["error %"] = 100 * sweep["error"]
sweep["conf. on mistakes %"] = 100 * sweep["conf_wrong"]
fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
sns.lineplot(data=sweep, x="eps", y="error %", hue="net", style="protocol", marker="o", ax=axes[0])
sns.lineplot(data=sweep, x="eps", y="conf. on mistakes %", hue="net", style="protocol", marker="o", ax=axes[1],
             legend=False)
stars = (("s4.maxout_adv_err", "s6.advtrained_adv_err"), ("s4.maxout_adv_conf", "s6.advtrained_adv_conf"))
for ax, ids in zip(axes, stars):
    ax.axvline(EPS, color="grey", lw=0.8, ls=":")
    ax.scatter([EPS] * len(ids), [paper_value(i) for i in ids], marker="*", s=150, color="black", zorder=5,
               label="paper")
axes[0].legend(fontsize="x-small")
axes[0].set_title("FGSM error (paper's values as stars)")
axes[1].set_title("Mean confidence on the mistakes")
save_fig("eps-sweep-all-variants", fig)
plt.show()

# %% [markdown]
# ## Beyond the paper: is the robustness real? An iterated attack in the same box
#
# FGSM takes a single step. Projected gradient descent (PGD) takes many smaller sign steps
# and projects back onto the same ε = .25 max-norm box around each image (and onto valid
# pixels, so it is compared with clipped FGSM; both adversarial nets are attacked). If a net only
# learned to defeat the *single-step* direction (for example by bending its loss surface so
# that the first-order step is misleading, "gradient masking"), PGD exposes it. This is an
# addition to the paper, not one of its claims.

# %%
rows = []
for name in OBJECTIVES:
    fgsm_row = scores.loc[(scores.net == name) & (scores.seed == seed0)].iloc[0]  # scored above
    rows.append({"net": name, "attack": "FGSM (clipped)", "error %": fgsm_row["clipped FGSM error %"],
                 "conf. on mistakes %": fgsm_row["clipped conf. %"]})
    model = nets[name, seed0].model
    r = metrics.evaluate(model, pgd_split(model, x_test, y_test, EPS, steps=P.maxout.pgd_steps), y_test)
    rows.append({"net": name, "attack": f"PGD-{P.maxout.pgd_steps}", "error %": 100 * r["error"],
                 "conf. on mistakes %": 100 * r["conf_wrong"]})
pgd_table = pd.DataFrame(rows)
pgd_table.round(2)

# %% [markdown]
# ## The paper's schedule at 240 units, once, on a CPU
#
# The `default` nets above train for a fixed, short schedule. To see what the paper's own
# protocol does, `scripts/paper_schedule_240.py` trains the `paper` profile's 240-unit nets of
# one seed as pylearn2's recipe does (`mnist_pi.yaml`: the inputs kept with p = .8 and *not*
# rescaled, the hidden units kept with p = .5 and scaled by 2, lr .1 divided by 1.000004 a
# step, momentum .5 → .7, patience 100 on the first 50,000 images, on adversarial validation
# error for the adversarial net) and scores every phase: the early-stopped net, the recipe's
# continuation on all 60,000 (`mnist_pi_continued.yaml`: from the best net, with the rate and
# momentum of its best epoch, until the dropout-mode objective on the last 10,000 falls to the
# level the first 50,000 had at the best epoch; the recipe's 0.94% is this net), and a fresh
# net retrained on 60,000 for the chosen number of epochs (how the adversarial paper words its
# step). It is not part of this notebook's run; the notebook shows the files it wrote,
# committed under `results/paper-schedule-240/`. `seed0` is the first such run, made before the
# recipe's input dropout was matched (inputs rescaled by 1/.8, bf16, restart only). These are
# not the profile's claims: one seed, no 1600-unit nets.

# %%
runs = paper_schedule.load()
if runs:
    display(paper_schedule.table(runs).round(2))
    for stem, run in runs.items():
        if "-" in stem:  # the recipe's runs
            fig = paper_schedule.plot(run, f"The paper's protocol, {stem} ({run['machine']})")
            save_fig(f"paper-schedule-240-{stem}", fig)
            plt.show()
else:
    print(f"{paths.shown(paper_schedule.DIR)} holds no runs: scripts/paper_schedule_240.py makes them.")

# %% [markdown]
# What the recipe's protocol shows (seed 0, `seed0-fp32`: float32 throughout, the recipe's
# dropout, on a 2-core Intel Xeon):
#
# * **The baseline comes closer to the recipe's 0.94%, not to it.** It reached its best
#   validation error, 1.09%, at epoch 193 (the recipe's own run: about 243), stopped at 293,
#   and errs on 1.10% of the test set; the recipe's continuation on 60,000 then ran 65 epochs
#   (its objective on the last 10,000 fell from 0.084 to the target 0.0144) and ends at 1.15%.
#   The first run (`seed0`: inputs rescaled by 1/.8, bf16, a restart on 60,000) ended at 1.18%.
#   One seed on 10,000 test images has a binomial standard error of about 0.1 point, so the
#   three values agree within noise, and the remaining gap to 0.94% (0.16-0.24 point) is about
#   two such errors: one seed cannot tell a real difference from a lucky recipe run.
# * **Neither second phase helped this seed.** The continuation ends at 1.15%; a fresh net
#   retrained on all 60,000 for the chosen 193 epochs (`baseline, restarted`, about 75 minutes
#   of CPU) at 1.18%, against 1.10% for the early-stopped net on 50,000. All three lie within
#   one binomial standard error of each other, so this seed cannot choose between the modes.
#   The `paper` profile uses the continuation because it is what produced the recipe's 0.94%,
#   the number the paper quotes as its baseline.
# * **The baseline's FGSM error moves towards the paper's.** FGSM as printed fools the
#   early-stopped net on 88.5% (98.4% confidence), clipped on 79.5% (96.1%); the paper's
#   89.4% (97.6%). The continued net: 90.0% and 79.6%; the restarted one: 91.2% and 83.1%.
#   The first run's clipped 76.7% was lower: the rescaled input dropout gave a less confident
#   net.
#
# * **The adversarial net of the same protocol (FGSM as printed, stopped on adversarial
#   validation error; trained on a 2-core AMD EPYC) leans the paper's way.** Its adversarial
#   validation error stayed between 35% and 47% from epoch 20 to 140, dropped to 23% by epoch
#   150 and reached its best, 13.8%, at epoch 261 (the recipe's baseline run: about 243); the
#   first phase stopped at 361 after 113 minutes. That
#   early-stopped net errs on 0.97% of the test set against the baseline's 1.10% (paper: 0.84%
#   against 0.94%), on 14.9% of the FGSM examples as printed with 80.7% confidence (paper 17.9%
#   and 81.4%), on 29.9% of the clipped ones, and on 87.4% of PGD-40's: the robustness it learned
#   is, again, mostly specific to the single step. The recipe's continuation on 60,000 (49
#   epochs, until its adversarial objective on the last 10,000 fell from 0.159 to the target
#   0.114; 18 more minutes) ends at 0.89% (baseline, continued: 1.15%), 14.8% as printed
#   (80.4% confidence), 29.5% clipped, 90.0% under PGD-40. Gaps of 0.13 and 0.26 point between
#   two nets are one and two binomial standard errors of such a difference (0.14 point): one
#   pair of nets cannot decide whether adversarial training regularises under the recipe; five
#   can (next point).
# * **With five seeds, adversarial training regularises under the recipe.** Every adversarial
#   net of `adv240` (a 2-core AMD EPYC, 93-251 minutes a net) errs less on the clean test set
#   than the baseline of its own seed, by 0.16-0.35 point, 0.25 ± 0.07 on average (95% interval
#   ± 0.09; the table below): 0.86% ± 0.05 against 1.11% ± 0.06 (paper: 0.84% against 0.94%).
#   The gap is larger than the paper's 0.10 point because our baselines err more than the
#   recipe's run (above) while the adversarial nets land on the paper's value. Their FGSM error
#   as printed, 16.2% ± 3.1 (13.5-21.3% by seed; paper 17.9%), with 80.9% ± 0.8 confidence
#   (paper 81.4%), reproduces too. The `default` profile's contrary result (1.34% against
#   1.27%, as printed) is then most likely its twenty-epoch schedule's, not the objective's
#   (the discussion below).
# * **The adversarial nets change regime, each at its own epoch and pace.** Their adversarial
#   validation error sits on a plateau (34-47% from epoch 20 in seeds 0, 3 and 4; 30-48% over
#   epochs 20-500 in seed 2; 34-40% over 85-290 and 28.5-32.1% over 500-700 in seed 1), then falls:
#   within about ten epochs to near 23% in seeds 0 (epochs 141-154), 3 (45-54) and 4 (57-64),
#   the training loss falling with it; slowly in seeds 2 (31.9% at epoch 521, 18.3% at 597) and
#   1 (26.9% at epoch 800, 21.3% at 840, 18.3% at 862); then it creeps down to its best: 13.8%
#   (seed 0, epoch 261), 9.95% (seed 3, 245), 10.9% (seed 4, 539), 14.6% (seed 2, 691) and
#   15.8% (seed 1, 995). Seed 1 was still setting new bests when its first phase reached epoch
#   1000, the `paper` profile's bound (ours: the recipe stops on patience alone), the one net of
#   the group that the bound stopped. The nets took 93 minutes (seed 3), 131 (seed 0), 205
#   (seed 4: new bests until epoch 539), 249 (seed 1: 1000 epochs, then 490 on 60,000) and 251
#   (seed 2: a continuation of 215 epochs); seeds 1, 2 and 4 went on from checkpoints over
#   several sessions, and seed 1 was trained from scratch three times, the first two runs'
#   checkpoints lost with their sessions' caches (at 32% by epoch 423 and 30.5% at 519; the
#   third: 30.5% at 519 too). The continuation on 60,000 moves the clean error by -0.08 to
#   +0.01 point and raises the FGSM error in four seeds of five (seed 2's most: 16.3% to
#   21.3%). Seed 1's stopped when one draw of its dropout objective on the last 10,000 fell
#   below the target (0.0936 against 0.0944 at epoch 490, where its mean over the last 40
#   epochs was 0.101): pylearn2's MatchChannel stops on the first crossing, and so does ours.
#   Seed 0's PGD-40 error after the fall (90%) suggests that what a net learns in it is
#   specific to the single step; scoring PGD along the curve would tell, and the protocol
#   does not.
#
# What the first run (`seed0`, before the recipe's input dropout was matched) showed:
#
# * **Robustness reproduced closely:** the clipped-trained adversarial net erred on 15.6% of
#   the FGSM examples with 78% confidence (paper 17.9% and 81.4%), but its clean error, 1.20%,
#   was no better than the baseline's 1.18% (paper 0.84% against 0.94%); a net trained on
#   unclipped examples reached 1.06%.
# * **Retraining for the chosen number of epochs need not give the chosen net.** The net trained
#   on unclipped examples was chosen at epoch 60, a dip of its noisy adversarial validation
#   curve (19.5% at epoch 50, 15.3% at 60, 21.2% at 80); its retraining on 60,000 learned more
#   slowly and ended at 35% unclipped FGSM error on the validation images it had trained on.
# * **PGD** (40 steps, clipped) fooled the clipped-trained adversarial net on 92.4% of the test
#   set and the unclipped-trained one on 64.1%: most of the FGSM robustness of the first is
#   specific to the single step it trained on.

# %% [markdown]
# ## The 1600-unit nets (`paper` profile only)
#
# The paper's best result, 0.782% mean clean error over five seeds, is a 1600-unit
# adversarially trained net (1.14% without adversarial training). One adversarial epoch of it
# costs about five minutes on the 2-core CPU this report is built on, so only the `paper`
# profile (for a GPU) trains it.

# %%
if P.maxout.large_units:
    big = {(s, clip): experiments.maxout(P, "fgsm", s, units=P.maxout.large_units, clip=clip)
           for clip in (False, True) for s in P.maxout.large_seeds}
    *trained, big_base = experiments.train_many(
        list(big.values()) + [experiments.maxout(P, "clean", P.maxout.large_seeds[0], units=P.maxout.large_units)])
    err = {key: 100 * metrics.evaluate(t.model, x_test, y_test)["error"] for key, t in zip(big, trained)}
    results.record("s6.maxout1600_adv_clean_err", [v for (s, clip), v in err.items() if not clip],
                   clipped=[v for (s, clip), v in err.items() if clip])
    results.record("s6.maxout1600_clean_err", 100 * metrics.evaluate(big_base.model, x_test, y_test)["error"])
else:
    for claim in ("s6.maxout1600_clean_err", "s6.maxout1600_adv_clean_err"):
        results.record(claim, None, n_seeds=0, status="not run",
                       note=f"1600-unit nets run only at the paper profile (this is '{P.name}')")
    print(f"1600-unit nets: not run at profile '{P.name}' (paper profile only).")

# %% [markdown]
# ## Our numbers beside the paper's

# %%
results.table()

# %% [markdown]
# ### Beside the paper's own protocol
#
# `make paper` trains the `paper` profile's nets (the recipe, patience 100, five seeds,
# 1600-unit nets) group by group into `results/paper/`. Where it has run, each claim of this
# notebook is shown with the protocol's value (mean, sd and 95% confidence interval over its
# seeds) beside this profile's, and the protocol's validation curves below.

# %%
protocol.show_beside(results.claims, ("base240", "adv240", "large", "adv240clip", "noise240"))

# %% [markdown]
# What the protocol's baseline shows (`base240`: five seeds, float32, the recipe's two phases,
# on a 2-core Intel Xeon over several sessions, each net 50-90 minutes of CPU):
#
# * **Our seeds err more than the recipe's run.** The continued nets err on 1.03-1.16% of the
#   test set, 1.11% ± 0.06 (95% interval of the mean ± 0.08). The verdict rule calls that
#   reproduced (within its tolerance of 0.3 point). The recipe's 0.94% lies below all five
#   seeds, 2.7 of their standard deviations below their mean; as a single run it is not ruled
#   out (a 95% prediction interval for one more of our runs: 0.92-1.30%). Either it was a
#   lucky run (the maxout paper reports one), or pylearn2's run differs in something the
#   recipe-parity reading did not find.
# * **The protocol behaves as the recipe's run did.** Best validation epochs 164-325 (the
#   recipe's run: about 243); the continuation on 60,000 ran 55-139 epochs until the objective
#   on the last 10,000 fell from 0.075-0.084 to its seed's target (0.009-0.014). The curves
#   above mark each net's best epoch.
# * **The continuation on 60,000 changes nothing on average.** The early-stopped nets it
#   started from (`first_phase_scores` in `results/paper/base240.json`) erred on 1.05-1.16%,
#   mean 1.11%, as the continued ones do; seed by seed it moved the error by -0.06 to +0.05
#   point, within one net's binomial noise (about 0.1 point on 10,000 images).
# * **The baseline's FGSM error agrees with the paper's.** As printed, 91.2% ± 1.7 (paper
#   89.4%); clipped, 81.5%. Its confidence on those mistakes, 98.7% ± 0.2, is a little above
#   the paper's 97.6% (within the rule's tolerance, outside our interval).

# %% [markdown]
# ### Net by net, as the protocol's seeds land
#
# A group's claims wait for all five seeds, but on the 2-core CPU this report is built on its
# nets land one a session (an adversarial net of the protocol trains for an hour and a half to
# four hours or more). Every net scored so far (`results/paper/<group>.json` where the group is
# complete, else `results/paper/<group>/`), and, seed by seed, the adversarial net's clean error
# against the baseline of the same seed (the same initialisation and minibatch order; the
# objective differs), with the mean of those differences:

# %%
so_far = protocol.nets_so_far(("base240", "adv240"))
if len(so_far):
    display(so_far.drop(columns="scored on").set_index(["group", "net"]).round(2))
    paper_240 = {"base240": paper_value("s6.maxout240_clean_err"), "adv240": paper_value("s6.maxout240_adv_clean_err")}
    save_fig("paper-protocol-240-by-seed", protocol.plot_seeds(so_far, paper_240))
    plt.show()
    pairs = protocol.by_seed(so_far, "base240", "adv240")
    display(pairs.round(2))
    if len(pairs):
        print(protocol.gap_summary(pairs))

# %%
results.save()

# %% [markdown]
# ## Discussion
#
# Numbers quoted below are those of the run committed with this text (two seeds at
# `default`); the tables above are regenerated with every run.
#
# * **Adversarial robustness reproduces under both protocols, more closely clipped.** FGSM
#   as printed fools the baseline on 82% of the test set and the net trained as printed on
#   41% (paper 89.4% and 17.9%); clipped, 76% and 25%. The nets trained on random noise of the
#   same size stay almost as fooled as the baseline under both: the direction of the
#   perturbation, not its size, is what the training has to see.
# * **Regularisation depends on the protocol at `default`.** Trained as printed, the
#   adversarial net's clean error is above the baseline's (1.34% against 1.27%); trained
#   clipped, it is below (1.20%, the paper's direction: 0.84% against 0.94%). The primary
#   protocol therefore does not reproduce the claim here, the clipped one reproduces its
#   direction. Two seeds and 10,000 test images (a binomial standard error of about 0.1 point
#   per net) cannot settle a difference of a tenth of a point either way. The `paper` profile's five
#   seeds trained as printed (`make paper`, group `adv240`) settle it for the primary protocol
#   in the paper's favour (above); its clipped twins (`adv240clip`) are still to run. Twenty
#   epochs are likely too few for the harder printed objective: on the 50,000-example split its
#   adversarial validation error fell from 27.5% to 17.5% over its last ten epochs (16.9% at
#   epoch 19), while the clipped-trained net's had flattened at 27-32% over its last nine (the
#   curves above).
# * **PGD separates the two adversarial nets.** Twenty projected steps in the same box (and
#   in [0, 1]) fool the clipped-trained net almost as often as the baseline (95% against 99%)
#   but the net trained as printed on 67%: the robustness bought by the clipped objective is
#   mostly specific to the single step it trains on, while the printed objective's larger
#   step buys some that survives an iterated attack. The first paper-schedule run (below)
#   showed the same (92% against 64%).
# * **Training on all 60,000 examples matters at this scale.** The same 20-epoch schedule
#   on the first 50,000 (the previous `default`, seeds 0 and 1) gave 1.37% and 1.68% clean
#   error (baseline, adversarial); on 60,000, as here and as in the paper, both drop by one
#   to two tenths of a point.
# * **Confidence.** The adversarially trained nets are still confident on the mistakes they
#   make (76% as printed, 80% clipped; paper 81.4%): adversarial training does not teach them
#   to say "I don't know".
# * **The baseline's FGSM error depends on how the net is trained, and on the protocol.**
#   At this profile 82% as printed and 76% clipped (paper 89.4%); with the recipe's own
#   protocol (one seed, above) 88.5-91.2% and 79.5-83.1%; with the inputs rescaled by 1/.8 (before the
#   dropout matched the recipe's) 86.0% and 76.7%. It is not one fixed number of the architecture.
# * **Run-to-run spread.** The same 20-epoch configuration on 50,000 examples with only the
#   floating-point rounding of the max-norm step changed (`torch.renorm` against the in-place
#   version now used) gave 1.44% against 1.37% (baseline) and 1.66% against 1.68%
#   (adversarial) clean error: differences of a tenth of a point are within what a rerun on
#   another machine can move, and so is the baseline's FGSM error's spread between seeds (1.5
#   points in an earlier run, 0.1 in this one).
# * **The pre-generated examples** (the seed report's second approach) help little or not at
#   all against FGSM crafted on the *current* net (the table), unlike the on-line objective:
#   they were crafted against a different net, the baseline.
# * **The ε sweep says the same from another side.** Under its own protocol, the
#   clipped-trained net (seed 0) is fooled more often at ε = .05 (8.6%) than at .1 or .15
#   (7.1% and 6.5%): it learned to resist steps of about the size it trained on, not every small step,
#   and the single-step direction FGSM computes on it is a poor guide to its worst case. The
#   net trained as printed has no such dip: its error grows steadily with ε (3.8% at .05, 8.8%
#   at .1, 16.5% at .15), as PGD's verdict above would lead one to expect.
