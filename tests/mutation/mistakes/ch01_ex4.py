"""Typical wrong answers to chapter 01, Exercise 4 (the actor-critic loss).

From the lesson: advantage A_t = G_t - V(s_t), held constant for the actor
(tf.stop_gradient); actor loss -mean(log pi(a_t|s_t) * A_t); critic loss the mean
Huber loss of G_t - V(s_t); TensorFlow operations only (it runs in tf.function);
values have shape (T,): a (T, 1) against a (T,) broadcasts to (T, T).
"""

import keras
import numpy as np
import tensorflow as tf

from instructor.tools.mutation.catalogue import wrong

huber_loss = keras.losses.Huber()


def _taken(action_probs, actions):
    """pi(a_t | s_t): each row's probability of the action taken (right)."""
    return tf.gather(action_probs, actions, batch_dims=1)


@wrong("no minus sign: maximises the loss it should minimise",
       mistake="loss/actor-sign-flipped")
def sign_flipped(action_probs, values, actions, returns):
    advantage = tf.stop_gradient(returns - values)
    actor_loss = tf.reduce_mean(tf.math.log(_taken(action_probs, actions)) * advantage)
    return actor_loss, huber_loss(returns, values)


@wrong("no tf.stop_gradient: the actor's loss also pushes the critic",
       mistake="loss/advantage-not-detached")
def advantage_not_detached(action_probs, values, actions, returns):
    advantage = returns - values
    actor_loss = -tf.reduce_mean(tf.math.log(_taken(action_probs, actions)) * advantage)
    return actor_loss, huber_loss(returns, values)


@wrong("weights log pi by the return, not by the advantage (no baseline)",
       mistake="loss/return-not-advantage")
def return_not_advantage(action_probs, values, actions, returns):
    actor_loss = -tf.reduce_mean(tf.math.log(_taken(action_probs, actions)) * returns)
    return actor_loss, huber_loss(returns, values)


@wrong("uses the probability itself, not its log", mistake="loss/prob-not-log-prob")
def probability_not_log(action_probs, values, actions, returns):
    advantage = tf.stop_gradient(returns - values)
    actor_loss = -tf.reduce_mean(_taken(action_probs, actions) * advantage)
    return actor_loss, huber_loss(returns, values)


@wrong("sums over the steps instead of averaging", mistake="loss/actor-summed")
def summed(action_probs, values, actions, returns):
    advantage = tf.stop_gradient(returns - values)
    actor_loss = -tf.reduce_sum(tf.math.log(_taken(action_probs, actions)) * advantage)
    return actor_loss, huber_loss(returns, values)


@wrong("tf.gather without batch_dims=1: picks whole rows, not each row's action")
def gather_rows(action_probs, values, actions, returns):
    taken = tf.gather(action_probs, actions)
    advantage = tf.stop_gradient(returns - values)
    actor_loss = -tf.reduce_mean(tf.math.log(taken) * advantage[:, None])
    return actor_loss, huber_loss(returns, values)


@wrong("the squared error for the critic instead of the Huber loss",
       mistake="loss/critic-mse")
def critic_mse(action_probs, values, actions, returns):
    advantage = tf.stop_gradient(returns - values)
    actor_loss = -tf.reduce_mean(tf.math.log(_taken(action_probs, actions)) * advantage)
    return actor_loss, tf.reduce_mean(tf.square(returns - values))


@wrong("keeps the critic's (T, 1) shape: G - V broadcasts to (T, T)",
       mistake="loss/broadcast")
def broadcast(action_probs, values, actions, returns):
    values = tf.reshape(values, (-1, 1))
    advantage = tf.stop_gradient(returns - values)
    taken = _taken(action_probs, actions)
    actor_loss = -tf.reduce_mean(tf.math.log(taken) * advantage)
    return actor_loss, huber_loss(returns, tf.squeeze(values, 1))


@wrong("np.log on a tensor: fine eagerly, impossible inside tf.function",
       mistake="tf/numpy-in-graph")
def numpy_log(action_probs, values, actions, returns):
    advantage = tf.stop_gradient(returns - values)
    actor_loss = -tf.reduce_mean(np.log(_taken(action_probs, actions)) * advantage)
    return actor_loss, huber_loss(returns, values)


@wrong(".numpy() to detach the advantage: no value exists inside tf.function",
       mistake="tf/numpy-in-graph")
def numpy_detach(action_probs, values, actions, returns):
    advantage = (returns - values).numpy()
    actor_loss = -tf.reduce_mean(tf.math.log(_taken(action_probs, actions)) * advantage)
    return actor_loss, huber_loss(returns, values)


@wrong("returns the pair in the wrong order: (critic_loss, actor_loss)",
       mistake="loss/swapped-pair")
def swapped_pair(action_probs, values, actions, returns):
    advantage = tf.stop_gradient(returns - values)
    actor_loss = -tf.reduce_mean(tf.math.log(_taken(action_probs, actions)) * advantage)
    return huber_loss(returns, values), actor_loss


@wrong("stops the gradient of the values once for both losses: the critic never "
       "learns", mistake="loss/critic-gradient")
def critic_detached(action_probs, values, actions, returns):
    values = tf.stop_gradient(values)
    advantage = returns - values
    actor_loss = -tf.reduce_mean(tf.math.log(_taken(action_probs, actions)) * advantage)
    return actor_loss, huber_loss(returns, values)
