# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 05 · Summary: which of the paper's claims hold
#
# Notebooks 01–04 each measure a part of the paper and write their numbers to
# `results/<notebook>.json`. This last notebook reads all of them and answers the question a
# reader comes with: **which claims hold, by how much, and where to see it.** It gives every
# claim of the paper (and the few the seed report adds) one row: the paper's value, the seed
# report's, ours (mean ± standard deviation over seeds, and the number of seeds), the profile
# that produced it, and a verdict with its reason. The same tables, with the figure gallery,
# are written to `RESULTS.md`.
#
# It trains nothing: it only reads what the other notebooks saved, so it runs in seconds at
# every profile. A claim whose notebook did not run, or that recorded no value, is shown as
# *missing*, never as reproduced.

# %% tags=["parameters"]
profile = "default"  # smoke | default | paper (REPRO_PROFILE overrides)

# %%
from helpers.notebook import setup
P, results = setup("05-summary", profile)

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Image, Markdown, display

from helpers import paths, profiles, summary, verdicts
from helpers.plotting import save_fig

S = verdicts.summarize_profile(P.name)
print(f"results read from {paths.shown(S.results_dir)}: {', '.join(sorted(S.files)) or 'none'}")
print(f"figures read from {paths.shown(S.figures_dir)}")
for w in S.warnings:
    print("WARNING:", w)

# %% [markdown]
# ## The verdict rule
#
# One rule for every claim, applied by `helpers.verdicts.judge`:

# %%
display(Markdown(verdicts.VERDICT_RULE))

# %% [markdown]
# ## Which notebooks ran
#
# A notebook writes its results file in its last cell, so a missing file means it did not
# finish: all of its claims are *missing* below.

# %%
display(Markdown(summary.coverage_table(S)))
print("Verdicts:", summary.counts_line(S))

# %% [markdown]
# ## The headline numbers
#
# The paper's main MNIST results: a maxout network's clean and adversarial error without and
# with adversarial training, transfer between the two nets, the RBF network, and rubbish
# (Gaussian noise) inputs.

# %%
display(Markdown(summary.headline_table(S.rows)))

# %% [markdown]
# ## Ours against the paper
#
# Each point is a numeric claim; the grey band is the tolerance of the verdict rule around the
# identity line. Points far off the line in the right colour are the interesting ones: the
# *direction* holds but the size differs (usually a shorter schedule or a smaller net at this
# profile; the reason column says which comparison holds).

# %%
fig = summary.plot_ours_vs_paper(S.rows)
save_fig("ours-vs-paper", fig)
plt.show()

# %% [markdown]
# ## Every claim
#
# One row per claim id (`helpers/paper_claims.csv`). *ref* is where the paper (or the seed
# report) states it; *reason* gives the gap, the tolerance, and the comparison used for a
# direction verdict, or why the claim is missing or unavailable.

# %%
display(Markdown(summary.claims_table(S.rows)))

# %% [markdown]
# ## The attack protocol
#
# Every claim on FGSM examples was measured twice, and each value judged on its own.

# %%
display(Markdown(verdicts.ATTACK_PROTOCOL_NOTE))
display(Markdown(summary.changes_table(S.rows)))

# %% [markdown]
# Every claim as a data frame, to sort or filter:

# %%
frame = pd.DataFrame([{"claim": r.id, "paper": r.paper, "seed report": r.seed_report,
                       "ours": summary.ours_text(r), "profile": r.profile, "verdict": r.verdict,
                       "verdict (clipped)": r.clipped.verdict if r.clipped else "",
                       "reason": r.reason} for r in S.rows]).set_index("claim")
frame.groupby("verdict").size().rename("claims").to_frame()

# %% [markdown]
# ## Figure gallery
#
# Every figure of the paper (1 to 4, and the rubbish-class examples of appendix A) beside the
# file that regenerates it, found by name under `figures/<notebook>/`; then the seed report's
# GoogLeNet-on-MNIST figures, and the figures that go beyond the paper.

# %%
for fig_spec in verdicts.GALLERY:
    files = S.gallery.get(fig_spec.key, [])
    display(Markdown(f"### {fig_spec.key}: {fig_spec.title}\n\n"
                     + (", ".join(f"`{p.parent.name}/{p.name}`" for p in files) or "*no figure file yet*")))
    for p in files:
        display(Image(filename=str(p), width=640))

# %%
beyond = S.gallery.get(verdicts.BEYOND, [])
display(Markdown(f"### Beyond the paper ({len(beyond)} figures)"))
for p in beyond:
    display(Markdown(f"`{p.parent.name}/{p.name}`"))
    display(Image(filename=str(p), width=640))

# %% [markdown]
# ## RESULTS.md
#
# The tables above and the gallery, written for readers of the repository: at the top level
# for the `default` profile, in `results/paper/` for `paper`, and in the scratch folder
# `build/smoke/results/` for `smoke` (a smoke run never overwrites a committed file).

# %%
md_path = summary.write_results_md(S, profiles.results_md(P.name))
print(f"wrote {paths.shown(md_path)}")

# %% [markdown]
# ## The README's generated sections
#
# At `default`, the README's headline table and its time and memory are rewritten from this
# run (the claims above, `make report`'s timings, and this machine's processor and matmul
# rates, measured now), so that the README cannot drift from the run it describes.

# %%
if P.name == "default":
    import torch

    from helpers import machine, readme, render

    sections = {"headline": summary.headline_table(S.rows, verdicts.protocol_rows())}
    timings = render.read_timings(paths.BUILD_DIR / "notebooks" / P.name)
    if timings:  # none when this notebook runs alone: the last report's time section stays
        gflops = {"fp32": machine.matmul_gflops(), "bf16": machine.matmul_gflops(dtype=torch.bfloat16)}
        sections["time"] = readme.time_section(timings, machine.cpu_name(), torch.get_num_threads(), gflops)
    readme.update(sections)
    print(f"rewrote the {' and '.join(sections)} section(s) of {paths.shown(readme.README)}")
