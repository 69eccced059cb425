/* `bucketdb demo`: a short run of the core runtime that prints what it did. */
#ifndef BDB_TOOLS_DEMO_H
#define BDB_TOOLS_DEMO_H

int demo_main(int argc, char **argv);

#endif
