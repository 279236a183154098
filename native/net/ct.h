/* Conntrack over ctnetlink (ct.c). */
#ifndef MP_CT_H
#define MP_CT_H

/* Deletes every IPv4 conntrack entry whose original tuple is UDP to port, in the caller's
 * network namespace. The count deleted, or -errno. */
int mp_ct_flush_udp(int port);

#endif
