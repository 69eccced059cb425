/* `bucketdb import` and `bucketdb publish` */
#ifndef BDB_TOOLS_CMD_ARCHIVE_H
#define BDB_TOOLS_CMD_ARCHIVE_H
int import_main(int argc, char **argv);
int publish_main(int argc, char **argv);
#endif
