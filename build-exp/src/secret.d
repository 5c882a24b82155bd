build-exp/src/secret.o: src/secret.c src/secret.h src/config.h \
 src/hashmap.h src/log.h src/util.h
src/secret.h:
src/config.h:
src/hashmap.h:
src/log.h:
src/util.h:
