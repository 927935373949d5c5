"""Shared library for the reproduction of Goodfellow, Shlens & Szegedy (ICLR 2015).

The notebooks tell the story; these modules hold the logic once:

- ``paths``     where data, caches, figures and results live
- ``profiles``  the ``smoke`` / ``default`` / ``paper`` sizes of every experiment
- ``data``      MNIST (verified raw files, in-memory tensors) and the CIFAR-10 code path
- ``models``    softmax / logistic regression, ``Maxout``, ``RBFNetwork``, GoogLeNet adapter
- ``attacks``   ``fgsm``, the two attack protocols (as printed, clipped), noise baselines of
                the same budget, an iterated (PGD) attack
- ``experiments`` every trained model's configuration, built from a profile
- ``training``  one loop for clean, adversarial and noise objectives, with a model cache
- ``population`` many maxout nets of one architecture trained in lockstep (same cache)
- ``protocol``  the paper's protocol as groups of nets (``make paper``)
- ``paper_schedule`` one seed of that protocol at 240 units, read back for notebook 03
- ``metrics``   error, confidence on mistakes, eps sweeps, agreement between models
- ``linear_models``  closed forms for linear models under a max-norm attack (sections 4-5)
- ``local_linearity`` the linear explanation measured (section 3) and Figure 4's logit sweeps
- ``transfer``  examples crafted on one model, classified by another; the same wrong class
- ``ensembles`` section 9's ensemble, attacked as a whole or through one member
- ``rubbish``   Appendix A's Gaussian inputs labelled with confidence
- ``cifar``     section 4's conv maxout on CIFAR-10, where the data set can be had
- ``imagenet``  the panda figure with torchvision's GoogLeNet, where the weights can be had
- ``results``   claims recorded beside the paper's values, written to ``results/``
- ``verdicts``  every claim's verdict (one rule) and the figures that regenerate the paper's
- ``summary``   the verdicts rendered: RESULTS.md, tables and the ours-against-paper figure
- ``notebook``  the first cell of every notebook: profile, results, figure folder
- ``render``    the executed notebooks as HTML, and the report's timings
- ``plotting``  one style and ``save_fig``
- ``machine``   the processor or GPU a number was measured on, and its matmul rate
- ``readme``    the README's sections generated from the last report
"""
