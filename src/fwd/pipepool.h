/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_PIPEPOOL_H
#define S4_PIPEPOOL_H

#include <stdbool.h>
#include <stddef.h>

/* The splice engine's pipes: lent to a direction of a connection while it
 * has bytes in flight, at most a fixed number for the whole forwarder,
 * sized so that they take a small share of the user's pipe quota, and
 * closed when nobody needed them for a second (see pipepool.c). */
struct pipepool;
struct timers;

/**
 * pipepool_new() - An empty pool
 * @timers:	for closing spare pipes nobody takes
 * Return: the pool, or NULL without memory
 */
struct pipepool *pipepool_new(struct timers *timers);
/* Closes the spare pipes; the lent ones are their borrowers' to close. */
void pipepool_free(struct pipepool *pp);

/**
 * pipepool_take() - Borrow an empty pipe
 * @pp:		pool
 * @p:		gets its ends, [0] the read end, both non-blocking
 * @cap:	gets how many bytes it holds
 * @any_fd:	any fd of ours, to see how many are left
 *
 * A spare one if there is one, else a new one while the pool is under its
 * bound and fds are not scarce.
 * Return: 0, -EAGAIN when none may be had now, or -errno
 */
int pipepool_take(struct pipepool *pp, int p[2], size_t *cap, int any_fd);

/**
 * pipepool_put() - Give a borrowed pipe back
 * @pp:		pool
 * @p:		its ends, set to -1; nothing happens if they are -1
 * @cap:	its size, as taken
 * @empty:	nothing left in it: only then is it kept for the next borrower
 */
void pipepool_put(struct pipepool *pp, int p[2], size_t cap, bool empty);

/**
 * pipepool_plan() - How many pipes of what size a forwarder may have
 * @soft_pages:	/proc/sys/fs/pipe-user-pages-soft, 0 for no limit
 * @page:	the page size
 * @size:	gets the size to ask each pipe for
 * Return: how many may exist at once (0: copy, never splice)
 */
unsigned pipepool_plan(unsigned long soft_pages, size_t page, size_t *size);

/* How many pipes the pool lets exist at once, and how many do now */
unsigned pipepool_max(const struct pipepool *pp);
unsigned pipepool_count(const struct pipepool *pp);

#endif
