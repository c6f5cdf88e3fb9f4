# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     notebook_metadata_filter: kernelspec,jupytext,-all
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (course)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 · Actor-Critic on CartPole-v1
#
# *Hands-on reinforcement learning*: see the course's README for the other chapters and
# for how to run this notebook in Colab, Binder or JupyterLab.
#
# PLACEHOLDER: the chapter is being written; this stub exercises the tooling.

# %% [markdown]
# ## Set-up
#
# In Colab, the next cell installs the course's helper package (`course_utils`);
# anywhere else it does nothing, because the course environment already has it.

# %%
import sys

# Colab already has TensorFlow, Keras, gymnasium and ipywidgets: add only the helpers.
COURSE_PACKAGE = "course-utils @ git+https://github.com/handson-rl/rl-course@main"
if "google.colab" in sys.modules:
    import subprocess

    pip = [sys.executable, "-m", "pip", "install", "--quiet", COURSE_PACKAGE]
    subprocess.run(pip, check=True)

# %%
import os

# Set before TensorFlow is imported: hides its C++ start-up log lines.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

# %% [markdown]
# ### Exercise 1: sum of rewards
#
# Return the total of a list of rewards.

# %%
def total_reward(rewards):
    ### BEGIN SOLUTION
    return float(np.sum(rewards))
    ### END SOLUTION


# %%
assert total_reward([1.0, 2.0]) == 3.0
print("✔ total_reward works")

# %% [markdown]
# Why does this cell exist?

# %% [markdown] tags=["solution"]
# **Answer.** To exercise the tooling until the chapter lands.
