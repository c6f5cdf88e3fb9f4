"""Typical wrong answers to chapter 02, Exercise 4 (the two DDPG losses).

From the lesson: the target networks give next_q = Q'(s', mu'(s')); y comes from
critic_target (Exercise 3); the critic's loss is mean((y - Q(s, a))^2) with the
buffer's actions; the actor's loss is -mean(Q(s, mu(s))) through the online critic;
the critic is called on a list; tf operations; the pair is (actor_loss, critic_loss).
"""

import numpy as np
import tensorflow as tf

from instructor.tools.mutation.catalogue import wrong


def critic_target(rewards, next_q, terminated, truncated, gamma):
    """Exercise 3, answered right (the notebook's ddpg_losses calls the student's)."""
    return rewards + gamma * (1.0 - terminated) * next_q


def _target(batch, target_actor, target_critic, gamma):
    """y, computed right."""
    states, actions, rewards, next_states, terminated, truncated = batch
    next_q = target_critic([next_states, target_actor(next_states)])
    return critic_target(rewards, next_q, terminated, truncated, gamma)


@wrong("returns (critic_loss, actor_loss): the order of the pair swapped",
       mistake="losses/swapped-pair")
def swapped_pair(batch, actor, critic, target_actor, target_critic, gamma):
    states, actions = batch[0], batch[1]
    y = _target(batch, target_actor, target_critic, gamma)
    critic_loss = tf.reduce_mean(tf.square(y - critic([states, actions])))
    actor_loss = -tf.reduce_mean(critic([states, actor(states)]))
    return critic_loss, actor_loss


@wrong("no minus sign on the actor's loss: minimises the critic's score",
       mistake="losses/actor-sign")
def actor_sign(batch, actor, critic, target_actor, target_critic, gamma):
    states, actions = batch[0], batch[1]
    y = _target(batch, target_actor, target_critic, gamma)
    critic_loss = tf.reduce_mean(tf.square(y - critic([states, actions])))
    actor_loss = tf.reduce_mean(critic([states, actor(states)]))
    return actor_loss, critic_loss


@wrong("next_q from the online networks instead of the targets",
       mistake="losses/critic-target-from-online")
def target_from_online(batch, actor, critic, target_actor, target_critic, gamma):
    states, actions, rewards, next_states, terminated, truncated = batch
    next_q = critic([next_states, actor(next_states)])
    y = critic_target(rewards, next_q, terminated, truncated, gamma)
    critic_loss = tf.reduce_mean(tf.square(y - critic([states, actions])))
    actor_loss = -tf.reduce_mean(critic([states, actor(states)]))
    return actor_loss, critic_loss


@wrong("the online actor picks the next action for the target critic",
       mistake="losses/critic-online-actor")
def online_actor_in_target(batch, actor, critic, target_actor, target_critic, gamma):
    states, actions, rewards, next_states, terminated, truncated = batch
    next_q = target_critic([next_states, actor(next_states)])
    y = critic_target(rewards, next_q, terminated, truncated, gamma)
    critic_loss = tf.reduce_mean(tf.square(y - critic([states, actions])))
    actor_loss = -tf.reduce_mean(critic([states, actor(states)]))
    return actor_loss, critic_loss


@wrong("the actor's loss scores the buffer's actions, not the actor's own",
       mistake="losses/actor-buffer-actions")
def actor_on_buffer_actions(batch, actor, critic, target_actor, target_critic, gamma):
    states, actions = batch[0], batch[1]
    y = _target(batch, target_actor, target_critic, gamma)
    critic_loss = tf.reduce_mean(tf.square(y - critic([states, actions])))
    actor_loss = -tf.reduce_mean(critic([states, actions]))
    return actor_loss, critic_loss


@wrong("the actor's loss goes through the target critic",
       mistake="losses/actor-target-critic")
def actor_through_target_critic(batch, actor, critic, target_actor, target_critic,
                                gamma):
    states, actions = batch[0], batch[1]
    y = _target(batch, target_actor, target_critic, gamma)
    critic_loss = tf.reduce_mean(tf.square(y - critic([states, actions])))
    actor_loss = -tf.reduce_mean(target_critic([states, actor(states)]))
    return actor_loss, critic_loss


@wrong("terminated and truncated swapped in the call to critic_target",
       mistake="losses/critic-truncated-for-terminated")
def flags_swapped(batch, actor, critic, target_actor, target_critic, gamma):
    states, actions, rewards, next_states, terminated, truncated = batch
    next_q = target_critic([next_states, target_actor(next_states)])
    y = critic_target(rewards, next_q, truncated, terminated, gamma)
    critic_loss = tf.reduce_mean(tf.square(y - critic([states, actions])))
    actor_loss = -tf.reduce_mean(critic([states, actor(states)]))
    return actor_loss, critic_loss


@wrong("ignores terminated: y = r + gamma * next_q",
       mistake="losses/critic-no-terminal")
def no_terminal(batch, actor, critic, target_actor, target_critic, gamma):
    states, actions, rewards, next_states = batch[:4]
    y = rewards + gamma * target_critic([next_states, target_actor(next_states)])
    critic_loss = tf.reduce_mean(tf.square(y - critic([states, actions])))
    actor_loss = -tf.reduce_mean(critic([states, actor(states)]))
    return actor_loss, critic_loss


@wrong("sums the squared errors instead of averaging", mistake="losses/critic-sum")
def critic_summed(batch, actor, critic, target_actor, target_critic, gamma):
    states, actions = batch[0], batch[1]
    y = _target(batch, target_actor, target_critic, gamma)
    critic_loss = tf.reduce_sum(tf.square(y - critic([states, actions])))
    actor_loss = -tf.reduce_mean(critic([states, actor(states)]))
    return actor_loss, critic_loss


@wrong("the absolute error instead of the squared error",
       mistake="losses/critic-absolute-error")
def critic_absolute(batch, actor, critic, target_actor, target_critic, gamma):
    states, actions = batch[0], batch[1]
    y = _target(batch, target_actor, target_critic, gamma)
    critic_loss = tf.reduce_mean(tf.abs(y - critic([states, actions])))
    actor_loss = -tf.reduce_mean(critic([states, actor(states)]))
    return actor_loss, critic_loss


@wrong("the root of the mean squared error", mistake="losses/critic-rmse")
def critic_rmse(batch, actor, critic, target_actor, target_critic, gamma):
    states, actions = batch[0], batch[1]
    y = _target(batch, target_actor, target_critic, gamma)
    critic_loss = tf.sqrt(tf.reduce_mean(tf.square(y - critic([states, actions]))))
    actor_loss = -tf.reduce_mean(critic([states, actor(states)]))
    return actor_loss, critic_loss


@wrong("np.mean on tensors: NumPy numbers eagerly (no gradient), an error in "
       "tf.function")
def numpy_mean(batch, actor, critic, target_actor, target_critic, gamma):
    states, actions = batch[0], batch[1]
    y = _target(batch, target_actor, target_critic, gamma)
    critic_loss = np.mean(np.square(y - critic([states, actions])))
    actor_loss = -np.mean(critic([states, actor(states)]))
    return actor_loss, critic_loss


@wrong("squeezes Q(s, a) to (B,) but not y (B, 1): the error broadcasts to (B, B)",
       mistake="losses/critic-broadcast")
def broadcast(batch, actor, critic, target_actor, target_critic, gamma):
    states, actions = batch[0], batch[1]
    y = _target(batch, target_actor, target_critic, gamma)
    q = tf.squeeze(critic([states, actions]), axis=1)
    critic_loss = tf.reduce_mean(tf.square(y - q))
    actor_loss = -tf.reduce_mean(critic([states, actor(states)]))
    return actor_loss, critic_loss


@wrong("the critic's prediction from the target critic",
       mistake="losses/critic-q-from-target")
def prediction_from_target(batch, actor, critic, target_actor, target_critic, gamma):
    states, actions = batch[0], batch[1]
    y = _target(batch, target_actor, target_critic, gamma)
    critic_loss = tf.reduce_mean(tf.square(y - target_critic([states, actions])))
    actor_loss = -tf.reduce_mean(critic([states, actor(states)]))
    return actor_loss, critic_loss


@wrong("the critic's loss cast to float64 (values right)", mistake="losses/float64")
def critic_loss_float64(batch, actor, critic, target_actor, target_critic, gamma):
    states, actions, rewards, next_states, terminated, truncated = batch
    y = _target(batch, target_actor, target_critic, gamma)
    error = tf.cast(y, tf.float64) - tf.cast(critic([states, actions]), tf.float64)
    critic_loss = tf.reduce_mean(tf.square(error))
    actor_loss = -tf.reduce_mean(critic([states, actor(states)]))
    return actor_loss, critic_loss
