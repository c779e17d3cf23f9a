/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  Differences between the PostgreSQL versions oms builds for (13 to 17),
 *	  kept in one place so that no other file needs an #if on the version.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OMS_COMPAT_H
#define OMS_COMPAT_H

#if PG_VERSION_NUM < 130000
#error "oms requires PostgreSQL 13 or later"
#endif

/* PostgreSQL 15 replaced EmitWarningsOnPlaceholders with MarkGUCPrefixReserved. */
#if PG_VERSION_NUM < 150000
#define MarkGUCPrefixReserved(prefix) EmitWarningsOnPlaceholders(prefix)
#endif

/* PostgreSQL 14 added HASH_STRINGS; before it, string keys were the default. */
#if PG_VERSION_NUM < 140000
#define HASH_STRINGS 0
#endif

#endif							/* OMS_COMPAT_H */
