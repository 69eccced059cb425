/* Schema tables of the Stellar XDR types the BucketList stores (see
 * stellar_types.c for the definitions and their sources). */
#ifndef BDB_XDR_STELLAR_TYPES_H
#define BDB_XDR_STELLAR_TYPES_H

#include "schema.h"

extern const bdbi_xtype bdbi_xt_ledger_key;
extern const bdbi_xtype bdbi_xt_ledger_entry;
extern const bdbi_xtype bdbi_xt_bucket_entry;
extern const bdbi_xtype bdbi_xt_hot_archive_bucket_entry;
extern const bdbi_xtype bdbi_xt_bucket_metadata;
extern const bdbi_xtype bdbi_xt_scval;
extern const bdbi_xtype bdbi_xt_scaddress;

/* Parts of entry bodies that key extraction walks over. */
extern const bdbi_xtype bdbi_xt_account_id;
extern const bdbi_xtype bdbi_xt_trustline_asset;
extern const bdbi_xtype bdbi_xt_claimable_balance_id;
extern const bdbi_xtype bdbi_xt_extension_point;
extern const bdbi_xtype bdbi_xt_contract_code_ext;
extern const bdbi_xtype bdbi_xt_contract_data_durability;
extern const bdbi_xtype bdbi_xt_string64;
extern const bdbi_xtype bdbi_xt_config_setting_id;

#endif
