build-exp/src/store.o: src/store.c src/store.h src/alert.h src/config.h \
 src/hashmap.h src/log.h src/util.h
src/store.h:
src/alert.h:
src/config.h:
src/hashmap.h:
src/log.h:
src/util.h:
