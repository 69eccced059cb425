/* `bucketdb replay` */
#ifndef BDB_TOOLS_REPLAY_H
#define BDB_TOOLS_REPLAY_H
int replay_main(int argc, char **argv);
#endif
